"""One table says which result keys belong to which `privacy.attacks` switch (records.runs.ATTACK_SWITCHES
and SWITCH_KEYS); privacy_eval._drop and the reports read it. A run that leaves an attack out holds none
of its keys, one that asks for it holds all of them.

Deliberate errors tried: `_drop` keeping keys whose switch is absent (`any` -> `all` over the owners),
and "lira_offline" mapped to ("rmia",) in the table: both fail here. One number, one name: the loss
attack's AUC is `mia_auc`; `mia_loss_auc` (the same number in stores written before) is not written, and
reading it reads `mia_auc`. Deliberate error tried: SAME_AS left out of final_metric (the old store's
stale `mia_loss_auc` is read, and a new run's is NaN): fails here."""
from itertools import combinations

import numpy as np

from tffnoise.privacy.attack_config import ATTACKS as SWITCHES
from tffnoise.privacy.roc import flat_summary, summarize
from tffnoise.records import runs
from tffnoise.runner.privacy_eval import _drop

COUNTS = {"mia_examples": 300, "mia_strong_examples": 100, "mia_reference_models": 4, "mia_client_members": 3}


def _everything() -> dict:
    """Every key any attack writes (roc's real key names, 10,000 non-members so 0.1% FPR is measurable too)."""
    rng = np.random.default_rng(0)
    res = dict(COUNTS, **{k: 0.5 for k in runs.SWITCH_KEYS})
    for a in runs.ATTACKS:
        res.update(flat_summary(a, summarize(rng.normal(size=100), rng.normal(size=10_000), bootstrap=5)))
    return res


def test_the_table_names_exactly_the_config_switches():
    owners = {s for keys in (*runs.ATTACK_SWITCHES.values(), *runs.SWITCH_KEYS.values()) for s in keys}
    assert owners == set(SWITCHES)


def test_each_key_has_its_owner():
    assert runs.switches_of("mia_lira_offline_tpr_at_1fpr_ci") == ("lira",)
    assert runs.switches_of("mia_rmia_auc") == ("rmia",)
    assert runs.switches_of("mia_client_loss_auc") == ("lira", "rmia")
    assert runs.switches_of("mia_loss_tpr_at_0p1fpr_below_resolution") == ("loss",)
    assert runs.switches_of("mia_trained_advantage") == ("trained",)
    assert [runs.switches_of(k) for k in COUNTS] == [None] * len(COUNTS)


def test_a_left_out_attack_has_none_of_its_keys_and_an_asked_one_all():
    full = _everything()
    for n in range(len(SWITCHES) + 1):
        for chosen in combinations(SWITCHES, n):
            kept = _drop(full, list(chosen))
            for key in full:
                owners = runs.switches_of(key)
                want = key not in runs.SAME_AS and (owners is None or bool(set(owners) & set(chosen)))
                assert (key in kept) == want, (chosen, key)
    only_trained = _drop(full, ["trained"])
    assert set(only_trained) == set(COUNTS) | {"mia_trained_auc", "mia_trained_advantage"}
    assert "mia_pop_loss_auc" in _drop(full, ["rmia"]) and "mia_lira_auc" not in _drop(full, ["rmia"])


def test_one_name_for_the_loss_attacks_auc():
    kept = _drop(_everything(), ["loss"])
    assert "mia_auc" in kept and "mia_loss_auc" not in kept and "mia_loss_auc_ci" in kept
    new = {"final": {"mia_auc": 0.61}}
    old = {"final": {"mia_auc": 0.61, "mia_loss_auc": 0.55}}   # before the loss attacks were split: not mia_auc
    assert runs.final_metric(new, "mia_loss_auc") == runs.final_metric(old, "mia_loss_auc") == 0.61
    assert runs.attacks_run([new], "auc") == ["loss"]


def test_the_report_shows_the_loss_auc_once():
    from tffnoise.reports.privacy_tables import _columns

    recs = [{"final": {"mia_auc": 0.6, "mia_loss_tpr_at_1fpr": 0.02, "mia_lira_auc": 0.7}},
            {"final": {"mia_auc": 0.6, "mia_loss_auc": 0.6}}]
    base, _, aucs, tprs = _columns(recs)
    assert base == ["mia_auc"] and aucs == ["lira"] and tprs == ["loss"]

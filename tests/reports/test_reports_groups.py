"""Reports never pool different settings; each setting's clean reference is its own config with the noise off.

The records carry what the store index gave before (setup label, mechanism, max level), which cannot tell
these settings apart; the grouping must read the configs.
"""
import math

import pytest

from tffnoise.config.sweep import clean_setting_key, setting_key
from tffnoise.metrics.stability import stability_table
from tffnoise.reports.build import build_report
from tffnoise.records.groups import Grouping

ACC = {0: 0.80, 1: 0.82, 2: 0.78}


def _runs(make_run, config, tag, mech, dist, level, acc_shift, *, setup="periodic-averaging m=10", repeats=3):
    return [make_run(f"{tag}{r}", setup, "periodic-averaging", mech, dist, level, r, ACC[r] + acc_shift, 0.5 - acc_shift,
                     config=config) for r in range(repeats)]


def _weights(config_for, level, dotted=None, **spec):
    return config_for(noise={"weights": {"level": level, "schedule": "sync", "decay": "inverse", **spec}},
                      **(dotted or {}))


def test_decay_sweep_gives_two_groups_with_labels(make_run, config_for, tmp_path):
    recs = _runs(make_run, config_for(), "c", "none", "", 0.0, 0.0)
    recs += _runs(make_run, _weights(config_for, 0.5, decay="none"), "n", "weights", "uniform", 0.5, -0.10)
    recs += _runs(make_run, _weights(config_for, 0.5, decay="inverse"), "i", "weights", "uniform", 0.5, -0.01)
    groups = Grouping(recs).noisy()
    assert sorted(k.label() for k in groups) == ["weights/uniform σ=0.5 decay=inverse",
                                                 "weights/uniform σ=0.5 decay=none"]
    assert all(len(v) == 3 for v in groups.values())
    text = open(build_report(recs, tmp_path)["summary"], encoding="utf-8").read()
    assert "| weights/uniform decay=none | 0.5 | 3 | 0.7000 |" in text
    assert "| weights/uniform decay=inverse | 0.5 | 3 | 0.7900 |" in text


def test_gamma_and_second_mechanism_levels_are_settings(make_run, config_for):
    recs = _runs(make_run, config_for(), "c", "none", "", 0.0, 0.0)
    for g in (0.55, 1.0):
        recs += _runs(make_run, _weights(config_for, 0.5, decay="anneal", gamma=g), f"g{g}", "weights", "uniform",
                      0.5, -0.02)
    for lv in (0.1, 0.3):  # the old index called both "hidden+label" at level max = 0.5
        cfg = config_for(noise={"hidden": {"distribution": "gaussian", "level": 0.5}, "label": {"level": lv}})
        recs += _runs(make_run, cfg, f"h{lv}", "hidden+label", "gaussian+uniform", 0.5, -lv / 10)
    recs += _runs(make_run, config_for(noise={"hidden": {"distribution": "gaussian", "level": 0.5}}), "h", "hidden",
                  "gaussian", 0.5, -0.03)
    grouping = Grouping(recs)
    base, fixed = "periodic-averaging m=10", "periodic-averaging m=10 + hidden/gaussian σ=0.5"
    keys = {(k.setup, k.label()): k for k in grouping.noisy()}
    assert set(keys) == {(base, "weights/uniform σ=0.5 gamma=0.55"), (base, "weights/uniform σ=0.5 gamma=1.0"),
                         (base, "hidden/gaussian σ=0.5"), (fixed, "label/uniform σ=0.1"), (fixed, "label/uniform σ=0.3")}
    assert grouping.setups == [base, fixed]
    # the x value is the swept mechanism's level; the fixed one belongs to the setup label
    k = keys[(fixed, "label/uniform σ=0.3")]
    assert (k.mechanism, k.level, k.line()) == ("label", 0.3, "label/uniform")
    assert len({k.clean_id for k in keys.values()}) == 1  # one clean reference for all of them
    assert len(grouping.clean(k)) == 3


def test_clean_reference_is_the_setting_with_the_same_learning_rate(make_run, config_for, tmp_path):
    recs = []
    for lr, clean_acc, noisy_acc in ((0.1, 0.60, 0.66), (0.25, 0.90, 0.88)):
        recs += _runs(make_run, config_for(training__learning_rate=lr), f"c{lr}", "none", "", 0.0, clean_acc - 0.8)
        recs += _runs(make_run, _weights(config_for, 0.5, {"training__learning_rate": lr}), f"n{lr}", "weights",
                      "uniform", 0.5, noisy_acc - 0.8)
    grouping = Grouping(recs)
    assert grouping.setups == ["periodic-averaging m=10 learning_rate=0.1", "periodic-averaging m=10 learning_rate=0.25"]
    rows = {(r["setup"], r["mechanism"]): r for r in stability_table(recs)}
    low = rows[("periodic-averaging m=10 learning_rate=0.1", "weights")]
    high = rows[("periodic-averaging m=10 learning_rate=0.25", "weights")]
    assert low["pos"] == pytest.approx(0.66 / 0.60) and high["pos"] == pytest.approx(0.88 / 0.90)
    assert low["clean_n"] == 3 and low["pos_paired"] == pytest.approx(
        sum((ACC[r] - 0.14) / (ACC[r] - 0.20) for r in range(3)) / 3)
    text = open(build_report(recs, tmp_path)["summary"], encoding="utf-8").read()
    assert "## periodic-averaging m=10 learning_rate=0.1" in text and "| clean | 0 | 3 | 0.6000 |" in text
    assert "| weights/uniform | 0.5 | 3 | 0.6600 | " in text and "| 1.1000 |" in text


def test_setting_key_matches_setting_id_and_level_zero_is_clean(config_for):
    from tffnoise.config import config_from_dict
    from tffnoise.config.sweep import setting_id

    cfg = config_for(noise={"weights": {"level": 0.5}})
    assert setting_key(cfg) == setting_id(config_from_dict(cfg))
    zero = config_for(noise={"weights": {"level": 0.0}, "label": {"level": 0.0}})
    assert setting_key(zero) == setting_key(config_for()) == clean_setting_key(cfg)
    other_lr = config_for(noise={"weights": {"level": 0.5}}, training__learning_rate=0.1)
    assert clean_setting_key(other_lr) != clean_setting_key(cfg)
    assert clean_setting_key(config_for(privacy="dp-sgd")) != clean_setting_key(cfg)  # DP noise is not a mechanism


def test_records_without_config_are_never_pooled():
    recs = [{"run_id": f"x{i}", "status": "done", "mechanism": "weights", "level": 0.5, "setup": "s",
             "final": {"test_accuracy": 0.5}} for i in range(2)]
    groups = Grouping(recs).groups
    assert len(groups) == 2 and all(math.isnan(r["pos"]) for r in stability_table(recs))


def test_index_labels_tell_settings_apart(config_for):
    """The store index's setup/level columns (tffnoise runs, the TUI's run table) for the same sweeps."""
    from tffnoise.config import config_from_dict
    from tffnoise.records.labels import index_row

    def row(cfg, overrides):
        return index_row(config_from_dict(cfg), overrides, "stacked")

    a = row(config_for(noise={"weights": {"level": 0.5, "schedule": "sync", "decay": "none"}}),
            [("noise.weights.level", 0.5), ("noise.weights.decay", "none")])
    b = row(config_for(noise={"weights": {"level": 0.5, "schedule": "sync", "decay": "inverse"}}),
            [("noise.weights.level", 0.5), ("noise.weights.decay", "inverse")])
    assert a["setup"] != b["setup"] and "weights.decay=none" in a["setup"]
    clean = row(config_for(noise={"weights": {"level": 0.0, "schedule": "sync", "decay": "none"}}),
                [("noise.weights.level", 0.0), ("noise.weights.decay", "none")])
    assert clean["setup"] == "periodic-averaging m=10" and clean["mechanism"] == "none"
    two = {"hidden": {"distribution": "gaussian", "level": 0.5}, "label": {"level": 0.3}}
    c = row(config_for(noise=two), [("noise.label.level", 0.3)])
    assert (c["mechanism"], c["level"]) == ("label", 0.3)  # the swept level, not the maximum
    assert c["setup"] == "periodic-averaging m=10 + hidden/gaussian σ=0.5"


def test_dp_fields_label_only_the_settings_trained_with_dp(make_run, config_for):
    """A DP clip that differs between DP settings is shown for them, never beside a run without DP."""
    recs = _runs(make_run, config_for(), "c", "none", "", 0.0, 0.0)
    for clip in (1.0, 0.5):
        cfg = config_for(privacy__mode="dp-fedavg", privacy__l2_norm_clip=clip)
        recs += _runs(make_run, cfg, f"dp{clip}", "none", "", 0.0, -0.05)
    setups = Grouping(recs).setups
    assert setups[0] == "periodic-averaging m=10", setups
    assert sorted(setups[1:]) == ["periodic-averaging m=10 dp-fedavg z=1 l2_norm_clip=0.5",
                                  "periodic-averaging m=10 dp-fedavg z=1 l2_norm_clip=1.0"], setups

"""Lookup helpers over run records (plain dicts from the run store); grouping is in `records.groups`.

Only ``done`` runs enter statistics; diverged runs are counted and listed separately.
Nothing here imports TensorFlow or matplotlib.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Iterable

DONE = "done"
DIVERGED = "diverged"

#: Protocols treated as federated / decentralized (several clients, model averaging or none).
#: Every other protocol ("serial", "dp-sgd", "centralized", ...) counts as centralized: one model
#: trained on the pooled data stream.
FEDERATED_PROTOCOLS = frozenset({"fedavg", "dp-fedavg", "periodic-averaging", "no-sync"})

_LEVEL_DIGITS = 6


def norm_level(level: Any) -> float:
    """Noise level as a float rounded to 6 digits, so 0.30000000000000004 and 0.3 group together."""
    try:
        value = float(level)
    except (TypeError, ValueError):
        return 0.0
    if not math.isfinite(value):
        return value
    return round(value, _LEVEL_DIGITS) + 0.0  # + 0.0 turns -0.0 into 0.0


def format_level(level: float) -> str:
    return f"{level:g}"


def mechanism_of(rec: dict) -> str:
    return str(rec.get("mechanism") or "none")


def distribution_of(rec: dict) -> str:
    if mechanism_of(rec) == "none":
        return ""
    return str(rec.get("distribution") or "")


def is_done(rec: dict) -> bool:
    return rec.get("status") == DONE


def is_synthetic(records: Iterable[dict]) -> bool:
    return any(bool(r.get("synthetic")) for r in records)


def is_federated(rec_or_protocol: dict | str) -> bool:
    protocol = rec_or_protocol if isinstance(rec_or_protocol, str) else str(rec_or_protocol.get("protocol", ""))
    return protocol in FEDERATED_PROTOCOLS


def diverged_runs(records: Iterable[dict]) -> list[dict]:
    return [r for r in records if r.get("status") == DIVERGED]


def status_counts(records: Iterable[dict]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for r in records:
        counts[str(r.get("status", "unknown"))] += 1
    return dict(counts)


# One number, one name: the default loss attack's AUC is `mia_auc` (the store's index column, the TUI's and
# the figure's). `mia_loss_auc` (its ROC family's name), which stores written since the loss attack's ROC
# metrics were added also hold, is the same number (sklearn's AUC and roc.auc on the same scores; 1.1e-16
# apart at most); new runs no longer write it (privacy_eval._drop), and reading it reads `mia_auc`, old
# stores and new alike (docs/privacy.md, "Membership inference in runs").
SAME_AS = {"mia_loss_auc": "mia_auc"}


def final_metric(rec: dict, name: str) -> float:
    """``rec["final"][name]`` as a float, NaN when missing, None or not a number (a name in SAME_AS reads
    the key it duplicates)."""
    value = (rec.get("final") or {}).get(SAME_AS.get(name, name))
    if value is None or isinstance(value, bool):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def finite(values: Iterable[float]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def metric_values(runs: Iterable[dict], name: str) -> list[float]:
    """Finite final values of ``name`` over ``runs`` (missing values dropped)."""
    return finite(final_metric(r, name) for r in runs)


def by_repeat(runs: Iterable[dict]) -> dict[int, dict]:
    """Run per repeat index (within one setting the same index is the same seed): the pairing rule of
    every paired comparison. A setting has one run per repeat; should it have more, the first counts."""
    out: dict[int, dict] = {}
    for r in runs:
        out.setdefault(int(r.get("repeat", 0) or 0), r)
    return out


def metric_by_repeat(runs: Iterable[dict], name: str) -> dict[int, float]:
    """Finite final ``name`` of each repeat's run (`by_repeat`)."""
    values = {k: final_metric(r, name) for k, r in by_repeat(runs).items()}
    return {k: v for k, v in values.items() if math.isfinite(v)}


def history_series(rec: dict, name: str) -> tuple[list[float], list[float]]:
    """(rounds, values) of ``name`` over ``rec["history"]``, skipping rounds without a finite value."""
    xs: list[float] = []
    ys: list[float] = []
    for i, row in enumerate(rec.get("history") or []):
        v = row.get(name)
        if v is None or isinstance(v, bool):
            continue
        try:
            v = float(v)
        except (TypeError, ValueError):
            continue
        if not math.isfinite(v):
            continue
        xs.append(float(row.get("round", i + 1)))
        ys.append(v)
    return xs, ys


def slug(text: str) -> str:
    """File-name-safe version of a setup label: ``periodic-averaging m=10`` → ``periodic-averaging_m-10``."""
    out = []
    for ch in str(text):
        if ch.isalnum() or ch in "-_.":
            out.append(ch)
        elif ch == "=":
            out.append("-")
        else:
            out.append("_")
    s = "".join(out).strip("._") or "setup"
    while "__" in s:
        s = s.replace("__", "_")
    return s[:120]


# Membership inference (docs/privacy.md "Metrics"): the one table of which result keys belong to which
# `privacy.attacks` switch (privacy/attack_config.ATTACKS; a test keeps the two equal). ATTACK_SWITCHES: the
# attacks whose AUC and TPR at 1% FPR a run may hold, as `mia_<attack>_auc`, `mia_<attack>_tpr_at_1fpr`
# (+ `_ci`, `_below_resolution`), in the order reports show them, each with the switches that run it (any of
# them). "loss": the default loss attack (members vs test examples, every run); "pop_loss": the loss attack on
# the strong attacks' population examples (docs/privacy.md, "Metrics"); "client_*": DP-FedAvg's client-level
# attacks (privacy/client_level.py), a client the unit. SWITCH_KEYS: the default attacks' keys outside those
# families. Any other `mia_*` key (counts: `mia_examples`, `mia_reference_models`) belongs to no switch.
_STRONG = ("lira", "rmia")
ATTACK_SWITCHES = {"lira": ("lira",), "rmia": ("rmia",), "lira_offline": ("lira",), "rmia_offline": ("rmia",),
                   "pop_loss": _STRONG, "loss": ("loss",),
                   "client_lira": ("lira",), "client_rmia": ("rmia",), "client_lira_offline": ("lira",),
                   "client_rmia_offline": ("rmia",), "client_loss": _STRONG}
SWITCH_KEYS = {"mia_auc": ("loss",), "mia_advantage": ("loss",),
               "mia_trained_auc": ("trained",), "mia_trained_advantage": ("trained",)}
ATTACKS = tuple(ATTACK_SWITCHES)


def switches_of(key: str) -> tuple[str, ...] | None:
    """The `privacy.attacks` switches whose choice writes result ``key`` (any one of them does), or None
    for a key no switch owns. The longest matching family wins (`mia_lira_offline_auc` is lira_offline's)."""
    if key in SWITCH_KEYS:
        return SWITCH_KEYS[key]
    owner = max((a for a in ATTACKS if key.startswith(f"mia_{a}_")), key=len, default=None)
    return ATTACK_SWITCHES[owner] if owner else None


def asked_for(key: str, attacks: Iterable[str]) -> bool:
    """Whether a run whose `privacy.attacks` is ``attacks`` may hold ``key`` (keys no switch owns: always;
    a duplicate name, SAME_AS: never)."""
    if key in SAME_AS:
        return False
    owners = switches_of(key)
    return owners is None or any(a in owners for a in attacks)
ATTACK_LABELS = {"lira": "LiRA", "rmia": "RMIA", "lira_offline": "LiRA offline", "rmia_offline": "RMIA offline",
                 "pop_loss": "loss (LiRA's examples)", "loss": "loss attack",
                 **{"client_" + a: "client " + lab for a, lab in (("lira", "LiRA"), ("rmia", "RMIA"),
                    ("lira_offline", "LiRA offline"), ("rmia_offline", "RMIA offline"), ("loss", "loss"))}}
TPR_1 = "tpr_at_1fpr"


def attack_key(attack: str, metric: str = TPR_1) -> str:
    """``mia_lira_tpr_at_1fpr``, ``mia_rmia_auc``: the key of one attack's metric in ``rec["final"]``."""
    return f"mia_{attack}_{metric}"


def below_resolution(rec: dict, attack: str, metric: str = TPR_1) -> bool:
    """The attack's TPR is the 1/n floor: it may be that weak, but the attacked examples cannot tell."""
    return bool((rec.get("final") or {}).get(attack_key(attack, metric) + "_below_resolution"))


def attack_ci(rec: dict, attack: str, metric: str = TPR_1) -> tuple[float, float]:
    """The run's bootstrap interval over examples of one attack metric; (nan, nan) when absent."""
    ci = (rec.get("final") or {}).get(attack_key(attack, metric) + "_ci")
    try:
        lo, hi = (float(v) for v in ci)
    except (TypeError, ValueError):
        return (math.nan, math.nan)
    return (lo, hi)


def attacks_run(records: Iterable[dict], metric: str = TPR_1) -> list[str]:
    """The attacks (in `ATTACKS` order) that gave ``metric`` in at least one of ``records``."""
    records = list(records)
    return [a for a in ATTACKS if any(math.isfinite(final_metric(r, attack_key(a, metric))) for r in records)]

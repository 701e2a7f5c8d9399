"""Differential-privacy accounting, membership-inference attacks (loss, trained, LiRA, RMIA) and the
one-run audit.

The names are loaded on first use, so `import tffnoise.privacy` costs nothing until something is called
(dp-accounting and scikit-learn each take about a second to import).
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "dp_sgd_epsilon": "accounting",
    "epsilon_per_round": "accounting",
    "noise_multiplier_for_epsilon": "accounting",
    "dp_fedavg_epsilon": "accounting",
    "classic_rdp_epsilon": "accounting",
    "AttackResult": "mia",
    "per_example_features": "mia",
    "loss_threshold_attack": "mia",
    "trained_attack": "mia",
    "run_attacks": "mia",
    "roc_curve": "roc",
    "tpr_at_fpr": "roc",
    "summarize": "roc",
    "lira_online": "lira",
    "lira_offline": "lira",
    "epsilon_lower_bound": "audit",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value

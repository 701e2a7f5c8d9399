"""Hand-made run records for the report tests, handed out as fixtures (works with --import-mode=importlib)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from tffnoise.config.schema import Config

_BASE = Config().to_dict()


def make_config(protocol="periodic-averaging", noise=None, *, privacy="none", **dotted):
    """A resolved config dict (what config.toml holds): ``noise`` maps mechanism -> NoiseSpec fields,
    ``dotted`` sets other keys (``training__learning_rate=0.1``)."""
    cfg = copy.deepcopy(_BASE)
    cfg["training"]["protocol"] = protocol
    cfg["privacy"]["mode"] = privacy
    cfg["noise"] = {m: {"distribution": "uniform", "level": 0.0, "schedule": "step", "decay": "none", "gamma": 0.55,
                        **spec} for m, spec in (noise or {}).items()}
    for key, value in dotted.items():
        section, name = key.split("__")
        cfg[section][name] = value
    return cfg


def _make_run(run_id, setup, protocol, mechanism, distribution, level, repeat, acc, loss, *, status="done",
             val=True, rounds=5, synthetic=False, epsilon=None, mia_auc=None, diverged_round=None, config=None):
    """``setup`` is kept as the stored label; the grouping reads ``config`` (default: from protocol and noise;
    protocol "dp-sgd" means serial training with privacy.mode = "dp-sgd")."""
    history = []
    cum = 0.0
    for t in range(1, rounds + 1):
        tl = loss * (1 + 1.0 / t)
        cum += tl
        history.append({"round": t, "train_loss": tl, "train_accuracy": acc * t / rounds, "cumulative_train_loss": cum,
                        "test_accuracy": acc * t / rounds if t == rounds or not val else None, "test_loss": loss,
                        "val_accuracy": acc * t / rounds if val else None, "val_loss": loss if val else None})
    return {
        "run_id": run_id, "status": status, "synthetic": synthetic, "setup": setup, "protocol": protocol,
        "mechanism": mechanism, "distribution": distribution, "level": level, "repeat": repeat,
        "final": {"test_accuracy": acc, "test_loss": loss, "val_accuracy": (acc - 0.005) if val else None,
                  "val_loss": loss if val else None, "train_loss": loss, "cumulative_train_loss": cum,
                  "epsilon": epsilon, "mia_auc": mia_auc, "diverged_round": diverged_round},
        "history": history,
        "config": config or make_config("serial" if protocol == "dp-sgd" else protocol,
                                        {} if mechanism == "none" else {mechanism: {"distribution": distribution,
                                                                                    "level": level}},
                                        privacy="dp-sgd" if protocol == "dp-sgd" else "none"),
    }


def _make_records(*, synthetic=False, repeats=6, seed=1):
    """Two setups (one federated, one centralized), clean + weights/uniform + input/gaussian at 3 levels,
    plus a DP setup with ε/MIA AUC, a diverged run, a failed run and a one-run group."""
    rng = np.random.default_rng(seed)
    recs = []
    i = 0
    for setup, protocol in (("periodic-averaging m=10", "periodic-averaging"), ("serial", "serial")):
        for mech, dist, levels in (("none", "", [0.0]), ("weights", "uniform", [0.1, 0.5, 0.9]),
                                   ("input", "gaussian", [0.1, 0.5])):
            for lv in levels:
                for r in range(repeats):
                    acc = 0.85 - 0.2 * lv ** 2 + rng.normal(0, 0.01)
                    recs.append(_make_run(f"r{i:04d}", setup, protocol, mech, dist, lv, r, acc, 0.4 + 0.5 * lv ** 2,
                                         synthetic=synthetic))
                    i += 1
    for lv, eps in ((0.0, None), (0.5, 8.0), (1.0, 2.0)):
        for r in range(3):
            recs.append(_make_run(f"dp{i:04d}", "dp-sgd", "dp-sgd", "gradient" if lv else "none",
                                 "gaussian" if lv else "", lv, r, 0.8 - 0.1 * lv + rng.normal(0, 0.01), 0.5 + 0.2 * lv,
                                 epsilon=eps, mia_auc=0.62 - 0.1 * lv, val=False))
            i += 1
    recs.append(_make_run("div01", "serial", "serial", "weights", "uniform", 0.9, 99, float("nan"), float("nan"),
                         status="diverged", diverged_round=3, rounds=3))
    recs.append(_make_run("fail1", "serial", "serial", "weights", "uniform", 0.5, 98, 0.1, 2.0, status="failed"))
    recs.append(_make_run("one01", "serial", "serial", "label", "uniform", 0.3, 0, 0.7, 0.6))
    return recs


@pytest.fixture
def config_for():
    return make_config


@pytest.fixture
def make_run():
    return _make_run


@pytest.fixture
def make_records():
    return _make_records


@pytest.fixture
def records():
    return _make_records()


@pytest.fixture
def synthetic_records():
    return _make_records(synthetic=True)

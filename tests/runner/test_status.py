"""Item 6 of issue 18: a killed run reads as interrupted, and a finite run-away loss is a divergence."""
import json
import math
import os

import pytest

from tests.runner.conftest import QUICK, cli
from tffnoise.config import config_from_dict
from tffnoise.config.sweep import setting_id
from tffnoise.errors import ConfigError
from tffnoise.runner.divergence import DivergenceWatch
from tffnoise.runner.store import Store


def _first_divergence(losses, factor=100.0, rounds=3):
    w = DivergenceWatch(factor, rounds)
    for t, loss in enumerate(losses, 1):
        if w.update(loss):
            return t
    return None


def test_loss_above_factor_for_consecutive_rounds_diverges():
    assert _first_divergence([1.0, 150, 150, 150, 150]) == 4  # rounds 2, 3, 4 are above 100 × 1.0
    assert _first_divergence([1.0, 150, 150, 50, 150, 150]) is None  # the streak must be unbroken
    assert _first_divergence([1.0, 100, 100, 100]) is None  # above, not equal
    assert _first_divergence([2.0, 150, 150, 150]) is None  # relative to the first round's value
    assert _first_divergence([1.0, 20, 20], factor=10, rounds=2) == 3
    assert _first_divergence([1.0, 1e30, 1e30, 1e30], factor=0) is None  # 0 = off
    assert _first_divergence([1.0, math.inf]) == 2 and _first_divergence([1.0, None]) == 2


def test_resumed_watch_continues_the_streak():
    hist = [{"round": 1, "train_loss": 1.0}, {"round": 2, "train_loss": 200.0}, {"round": 3, "train_loss": 300.0}]
    w = DivergenceWatch(100, 3, hist)
    assert w.update(400.0) is not None
    assert DivergenceWatch(100, 3, hist[:1]).update(400.0) is None


def test_divergence_settings_are_validated_and_keep_default_ids():
    cfg = config_from_dict({"training": {"divergence_factor": 10, "divergence_rounds": 5}})
    assert cfg.training.divergence_factor == 10.0 and cfg.training.divergence_rounds == 5
    with pytest.raises(ConfigError, match="training.divergence_factor"):
        config_from_dict({"training": {"divergence_factor": 0.5}})
    with pytest.raises(ConfigError, match="training.divergence_rounds"):
        config_from_dict({"training": {"divergence_rounds": 0}})
    # the id of the default setting is the one stores written before these fields existed carry (bf82231)
    assert setting_id(config_from_dict({})) == "d5581230d61a"
    assert setting_id(cfg) != "d5581230d61a"


def _store_with_running_run(root, pid):
    store = Store(root)
    store.register("r1", {"setting_id": "s", "repeat": 0}, "", {})
    store.update("r1", status="running", pid=pid)
    return store


def test_a_running_run_whose_process_is_gone_reads_interrupted(tmp_path, dead_pid):
    store = _store_with_running_run(tmp_path / "s", dead_pid)
    assert store.get("r1")["status"] == "interrupted"
    assert [r["run_id"] for r in store.all("interrupted")] == ["r1"] and store.all("running") == []
    store.update("r1", pid=os.getpid())  # alive: still running
    assert store.get("r1")["status"] == "running"
    store.update("r1", pid=dead_pid)
    from tffnoise_tui.store_reader import StoreReader

    assert [r["status"] for r in StoreReader(tmp_path / "s").rows()] == ["interrupted"]
    res = cli("runs", str(tmp_path / "s"), "--json")
    assert res.returncode == 0 and json.loads(res.stdout)[0]["status"] == "interrupted"
    res = cli("runs", str(tmp_path / "s"), "--status", "interrupted", "--json")
    assert [r["run_id"] for r in json.loads(res.stdout)] == ["r1"]


@pytest.mark.slow
def test_finite_runaway_loss_marks_the_run_diverged(tmp_path):
    # learning rate 1e30 saturates the cross-entropy at about 14.4 from round 2 on (13.5 in round 1): with
    # the factor set just above 1 that is a run-away, and the run must end diverged, not done
    out = tmp_path / "lr"
    res = cli("run", QUICK, "--out", str(out), "--set", "training.learning_rate=1e30", "--set", "training.rounds=5",
              "--set", "experiment.repeats=1", "--set", "sweep.grid={}", "--set", "privacy.membership_inference=false",
              "--set", "training.divergence_factor=1.01", "--set", "training.divergence_rounds=2", "--json")
    assert res.returncode == 0, res.stderr
    (rid,) = [p.name for p in (out / "runs").iterdir()]
    row = Store(out, create=False).get(rid)
    assert row["status"] == "diverged" and row["diverged_round"] == 3
    summary = json.loads((out / "runs" / rid / "summary.json").read_text())
    assert "first-round" in summary["final"]["diverged_reason"]


def test_fields_added_later_keep_ids_at_their_defaults_only():
    """Each field in sweep.ADDED_LATER: at its default the setting's id is the one older stores carry;
    any other value is another setting (a non-default nosync_eval: runs with the mean-learner metrics)."""
    from tffnoise.config.sweep import ADDED_LATER

    nosync = {"training": {"protocol": "no-sync"}}
    plain = setting_id(config_from_dict(nosync))
    assert setting_id(config_from_dict({"training": {"protocol": "no-sync", "nosync_eval": "picked"}})) == plain
    assert setting_id(config_from_dict({"training": {"protocol": "no-sync", "nosync_eval": "every-learner"}})) != plain
    assert ("training", "nosync_eval") in ADDED_LATER and ("model", "batch_norm") in ADDED_LATER

"""A mechanism registered at run time, with no file of tffnoise/ changed: multiplicative weight noise
w ← w·(1 + level·ψ) before every local step, ψ uniform on [−½, ½]. It goes through config validation,
sweep planning, run labels, report grouping and both engines like a built-in."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tffnoise.config import config_from_dict
from tffnoise.errors import ConfigError
from tffnoise.noise import distributions, registry, rng
from tffnoise.noise.base import Mechanism
from tffnoise.noise.registry import MechanismInfo
from tffnoise.records.groups import Grouping
from tffnoise.records.labels import index_row, noise_label, swept_mechanism
from tffnoise.runner.sweep import plan

TOY_STREAM = 101


class MultiplicativeNoise(Mechanism):
    """Only `on_step_params` acts (the registry entry says so); the other hooks are the base identities."""

    def on_step_params(self, params, keys, g, level):
        base = rng.fold_all(keys, registry.get(self.name).stream, g)
        out = []
        for j, p in enumerate(params):
            psi = distributions.standard(self.spec.distribution, rng.fold(base, j), p.shape[len(keys.shape):])
            out.append(p * (1.0 + tf.cast(level, p.dtype) * tf.cast(psi, p.dtype)))
        return out


def toy_check(name, spec):
    if spec.schedule != "step":
        raise ConfigError(f"noise.{name}.schedule", spec.schedule, "'step' (it acts before every local step)")
    if spec.level >= 1.0:
        raise ConfigError(f"noise.{name}.level", spec.level, "a relative scale below 1 (the sign of a weight stays)")


@pytest.fixture
def toy():
    info = registry.register(MechanismInfo(
        "toy", MultiplicativeNoise, frozenset({"step_params"}), TOY_STREAM,
        {"distribution": "uniform", "schedule": "step", "decay": "none"}, toy_check,
        where="every weight, before each local step, multiplied by 1 + level·ψ", paper="(test)",
        doc="w ← w·(1 + εψ)"))
    yield info
    registry.unregister("toy")
    assert registry.names() == ("weights", "input", "hidden", "gradient", "label")


BASE = {"data": {"clients": 3, "examples_per_client": 20, "test_examples": 40}, "model": {"hidden": [8]},
        "training": {"batch_size": 5, "sync_period": 2, "rounds": 3}, "experiment": {"seed": 7}}


def test_validation_takes_its_defaults_and_refuses_by_name(toy):
    cfg = config_from_dict({"noise": {"toy": {"level": 0.2}}})
    s = cfg.noise["toy"]
    assert (s.distribution, s.schedule, s.decay, s.level) == ("uniform", "step", "none", 0.2)
    assert config_from_dict({"noise": {"mechanism": "toy", "level": 0.1}}).noise["toy"].schedule == "step"
    for sub, field in [({"level": 1.5}, "noise.toy.level"), ({"schedule": "sync"}, "noise.toy.schedule"),
                       ({"gamma": 0.9}, "noise.toy.gamma"), ({"distribution": "cauchy"}, "noise.toy.distribution"),
                       ({"colour": "red"}, "noise.toy.colour")]:
        with pytest.raises(ConfigError) as exc:
            config_from_dict({"noise": {"toy": sub}})
        assert exc.value.field == field


def test_unknown_once_unregistered():
    with pytest.raises(ConfigError) as exc:
        config_from_dict({"noise": {"toy": {"level": 0.2}}})
    assert exc.value.field == "noise.toy" and "toy" not in exc.value.allowed


def _records(runs):
    return [{"run_id": r.run_id, "status": "done", "repeat": r.repeat, "config": r.config.to_dict(),
             "final": {"test_accuracy": 0.5}} for r in runs]


def test_sweep_plans_its_levels_and_reports_group_them(toy):
    base = {**BASE, "experiment": {"seed": 7, "repeats": 2}, "noise": {"toy": {}, "weights": {"level": 0.1}},
            "sweep": {"grid": {"noise.toy.level": [0.0, 0.2, 0.4]}}}
    runs, cells = plan(base)
    assert len(runs) == 6 and [len(c) for c in cells] == [2, 2, 2]
    assert [{r.setting_id for r in c} for c in cells] == [{r.setting_id} for r in runs[::2]]
    assert sorted({r.config.noise["toy"].level for r in runs}) == [0.0, 0.2, 0.4]
    noisy = [r for r in runs if r.config.noise["toy"].level == 0.4][0]
    # the swept mechanism is the toy (its level is the override), the fixed weight noise joins the setup label
    assert swept_mechanism(noisy.config, noisy.overrides) == "toy"
    assert noise_label(noisy.config, noisy.overrides) == ("toy", "uniform", 0.4)
    assert index_row(noisy.config, noisy.overrides, "stacked")["setup"].endswith("+ weights/uniform σ=0.1")
    assert swept_mechanism(noisy.config) == "weights"  # without overrides: the first in registration order
    grouping = Grouping(_records(runs))
    keys = sorted(grouping.groups, key=lambda k: k.level)
    assert [(k.mechanism, k.level, len(grouping.groups[k])) for k in keys] == \
        [("weights", 0.1, 2), ("toy", 0.2, 2), ("toy", 0.4, 2)]
    assert keys[1].setup == keys[2].setup == keys[0].setup + " + weights/uniform σ=0.1"
    assert keys[1].label() == "toy/uniform σ=0.2"
    assert keys[1].clean_id == keys[2].clean_id == keys[0].clean_id  # one clean reference: noise off


def _final_weights(engine_cls, cfg):
    from tffnoise.algorithms.problem import prepare

    eng = engine_cls(prepare(cfg, [0, 1]))
    eng.run_rounds(3)
    return [[np.asarray(w) for w in eng.final_weights(ri)] for ri in (0, 1)]


@pytest.mark.slow
def test_trains_the_same_under_both_engines(toy):
    from tffnoise.algorithms.stacked import StackedEngine
    from tffnoise.algorithms.tff_engine import TffEngine

    noisy = config_from_dict({**BASE, "noise": {"toy": {"level": 0.3}}})
    clean = config_from_dict({**BASE, "noise": {"toy": {"level": 0.0}}})
    s = _final_weights(StackedEngine, noisy)
    e = _final_weights(TffEngine, noisy)
    c = _final_weights(StackedEngine, clean)
    for ws, we, wc in zip(s, e, c):
        for a, b in zip(ws, we):
            np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)
        assert max(float(np.abs(a - b).max()) for a, b in zip(ws, wc)) > 1e-3  # the noise did something

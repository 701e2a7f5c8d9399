"""The compiled-program cache is keyed by one frozen dataclass naming every structural field (issue 19
item 3): cells that differ only in a runtime input (a level, the learning rate, the server learning
rate) share one compiled program and each still trains at its own values; cells that differ in a
structural field (schedule, decay, distribution, DP clip, a mechanism switched off) get their own.
Building an engine traces nothing, so the sharing checks cost a `prepare` each (about 0.2 s)."""
import dataclasses
import math

import numpy as np
import pytest

from tffnoise.algorithms import round_program
from tffnoise.algorithms.plan import Noise
from tffnoise.algorithms.problem import prepare
from tffnoise.algorithms.round_key import RUNTIME_SPEC_FIELDS, MechanismKey, round_key, structural_mechanisms
from tffnoise.algorithms.stacked import StackedEngine
from tffnoise.config import load_config
from tffnoise.config.schema import NoiseSpec

TINY = ["data.clients=2", "data.examples_per_client=12", "model.hidden=[4]", "training.batch_size=4",
        "training.sync_period=2", "training.rounds=2", "experiment.repeats=1", "execution.threads=1",
        'training.protocol="fedavg"']
BASE = ['noise.weights.distribution="uniform"', "noise.weights.level=0.3", 'noise.weights.schedule="sync"',
        'noise.hidden.distribution="gaussian"', "noise.hidden.level=0.2",
        'privacy.mode="dp-sgd"', "privacy.l2_norm_clip=0.5", "privacy.noise_multiplier=0.5"]


def _engine(extra):
    return StackedEngine(prepare(load_config(None, TINY + BASE + extra), [0]))


def _program(extra):
    return _engine(extra).groups[0].program


RUNTIME_CHANGES = ["noise.weights.level=0.7", "noise.hidden.level=0.9", "training.learning_rate=0.3",
                   "training.server_learning_rate=0.5", "training.server_momentum=0.4"]
STRUCTURAL_CHANGES = ['noise.weights.schedule="init"', 'noise.weights.decay="none"', 'noise.weights.distribution="gaussian"',
                      'noise.hidden.distribution="laplace"', "privacy.l2_norm_clip=0.25", "privacy.microbatches=2",
                      "noise.weights.level=0.0"]


@pytest.mark.parametrize("change", RUNTIME_CHANGES)
def test_cells_differing_in_a_runtime_input_share_one_program(change):
    assert _program([change]) is _program([])


@pytest.mark.parametrize("change", STRUCTURAL_CHANGES)
def test_cells_differing_in_a_structural_field_get_their_own_program(change):
    assert _program([change]) is not _program([])


def test_every_noise_spec_field_is_named_by_the_key_or_a_runtime_input():
    """A NoiseSpec field added later becomes part of the structure unless it is declared a runtime input."""
    p = prepare(load_config(None, TINY + BASE), [0])
    key = round_key(p, _engine([]).plan, 1)
    (mk, _) = key.mechanisms
    assert isinstance(mk, MechanismKey)
    named = {name for name, _ in mk.fields}
    assert named | set(RUNTIME_SPEC_FIELDS) == {f.name for f in dataclasses.fields(NoiseSpec)}
    assert not named & set(RUNTIME_SPEC_FIELDS)
    assert "levels.weights" in key.runtime and "levels.hidden" in key.runtime and "lr" in key.runtime
    assert "level" not in {f.name for f in dataclasses.fields(Noise)}  # plan ops carry no level
    hash(key)  # frozen all the way down


def test_the_program_holds_no_level():
    """The mechanisms a compiled program traces are built from its key: an active one's spec level is NaN
    (a hook that read it instead of its `level` argument would make the run NaN), an inactive one's 0."""
    p = prepare(load_config(None, TINY + BASE + ["noise.hidden.level=0.0"]), [0])
    key = round_key(p, _engine([]).plan, 1)
    weights, hidden = structural_mechanisms(key, p.mechanisms)
    assert math.isnan(weights.spec.level) and hidden.spec.level == 0.0
    assert (weights.spec.schedule, weights.spec.distribution) == ("sync", "uniform")


def _trained(extra):
    eng = _engine(extra)
    assert all(row["finite"].all() for row in eng.run_rounds(2))
    return eng.get_state()


def test_cells_sharing_a_program_train_at_their_own_values():
    """A cell run after another through their shared program equals the same cell on a fresh cache."""
    change = ["noise.weights.level=0.6", "noise.hidden.level=0.5", "training.learning_rate=0.2"]
    first = _trained([])
    after = _trained(change)
    round_program._COMPILED.clear()
    fresh = _trained(change)
    for k in fresh:
        np.testing.assert_array_equal(after[k], fresh[k], err_msg=k)
    assert not np.allclose(first["params_0"], fresh["params_0"], atol=1e-4)


def test_a_plugin_models_own_noise_level_is_a_runtime_input_not_structure():
    """A plug-in's AdditiveNoise layers (no [noise.hidden] table) give their stream's runtime level; the
    plan is the same at any level; two levels in one stream are refused on the stacked engine."""
    import tensorflow as tf

    from tffnoise.algorithms.plan import layer_levels, stack_plan
    from tffnoise.errors import UserError
    from tffnoise.noise.layers import AdditiveNoise

    def build(a, b):
        return tf.keras.Sequential([tf.keras.Input((4,)), AdditiveNoise("gaussian", a, seed=1, stream="hidden"),
                                    tf.keras.layers.Dense(3), AdditiveNoise("gaussian", b, seed=2, stream="hidden"),
                                    tf.keras.layers.Dense(2, activation="softmax")])

    assert stack_plan(build(0.2, 0.2)) == stack_plan(build(0.7, 0.7))
    assert layer_levels(build(0.2, 0.2)) == {"hidden": 0.2}
    with pytest.raises(UserError, match="one level per noise stream"):
        stack_plan(build(0.2, 0.3))

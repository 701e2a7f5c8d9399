"""One random stream per purpose: switching hidden or input noise on leaves the dropout masks (and the
other mechanism's draws) as they were (issue 17, item 10). Before, noise and dropout layers took their
seeds from one shared counter, so adding a hidden noise layer shifted every dropout layer's seed."""
import numpy as np
import tensorflow as tf

from tffnoise.config import load_config
from tffnoise.models.builders import build_model
from tffnoise.noise.context import step_key
from tffnoise.noise.layers import AdditiveNoise, SeededDropout
from tffnoise.noise.registry import build

BASE = ["model.hidden=[6,5]", "model.dropout=0.5", "model.activation=tanh"]


def _model(extra):
    cfg = load_config(None, BASE + extra)
    return build_model(cfg.model, (4,), 3, build(cfg.noise), seed=1)


def _seeds(model, cls, stream=None):
    return [layer.seed for layer in model.layers if isinstance(layer, cls) and (stream is None or layer.stream == stream)]


def _masks(model, x, key):
    """Which units each dropout layer zeroed, for one training pass under step key `key`."""
    outs = [layer.output for layer in model.layers if isinstance(layer, SeededDropout)]
    probe = tf.keras.Model(model.inputs, outs)
    with step_key(tf.constant(key, tf.int64)):
        return [(o.numpy() == 0) for o in probe(x, training=True)]


def test_dropout_masks_do_not_change_when_noise_is_switched_on():
    clean = _model([])
    hidden = _model(["noise.hidden.level=0.5"])
    both = _model(["noise.hidden.level=0.5", "noise.input.level=0.2"])
    assert _seeds(clean, SeededDropout) == _seeds(hidden, SeededDropout) == _seeds(both, SeededDropout) == [1, 2]
    assert _seeds(hidden, AdditiveNoise, "hidden") == _seeds(both, AdditiveNoise, "hidden") == [1, 2]
    for m in (hidden, both):
        m.set_weights(clean.get_weights())
    x = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    ref = _masks(clean, x, 42)
    assert 0.2 < np.mean(ref[0]) < 0.8
    for m in (hidden, both):
        for a, b in zip(ref, _masks(m, x, 42)):
            np.testing.assert_array_equal(a, b)

"""Paper 2's CNN layers in the stacked forward pass against the Keras layers they stand for (the
independent check of issue 19, extended by issue 20): Conv2D (padding, strides, bias), batch
normalization (training: per-model batch statistics and the moving-statistics update with the layer's
momentum and epsilon; inference: the moving statistics), max / average / global average pooling, and
the builders' noise → batch norm → conv block, for K = 3 models; output, gradients of a random linear
functional (weights and input) and every weight after the pass.

Tolerance: float32, atol = rtol = 1e-4 for the convolutional stacks (batch statistics over a few
hundred values and 3×3×C sums ordered differently by Keras's kernels); 1e-5 elsewhere.
The last tests show the checks are not vacuous: a moving-statistics update with momentum and
1 − momentum swapped, the unbiased batch variance, a wrong epsilon, average pooling for max pooling
and the moving mean read from the variance's slot each fail.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from tests.algorithms.test_layers_vs_keras import _models, assert_matches_keras
from tffnoise.noise.layers import AdditiveNoise

L = tf.keras.layers
IMG = (6, 6, 2)
TOL = dict(atol=1e-4, rtol=1e-4)


def _with_moving_stats(models, seed=4):
    """Moving statistics away from their (0, 1) start, so inference reads them for real."""
    rng = np.random.default_rng(seed)
    for m in models:
        for layer in m.layers:
            if isinstance(layer, L.BatchNormalization):
                layer.moving_mean.assign(rng.normal(size=layer.moving_mean.shape).astype(np.float32))
                layer.moving_variance.assign(rng.uniform(0.5, 2.0, size=layer.moving_variance.shape).astype(np.float32))
    return models


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("padding, strides, use_bias", [("same", 1, True), ("valid", 1, False), ("same", 2, True),
                                                        ("valid", (2, 1), True)])
def test_conv2d(padding, strides, use_bias, training):
    layers = lambda: [L.Conv2D(3, 3, strides=strides, padding=padding, use_bias=use_bias, activation="relu"),  # noqa: E731
                      L.Conv2D(2, 2, activation="tanh")]
    assert_matches_keras(layers, IMG, training=training, **TOL)


def _bn_block(**bn):
    return lambda: [L.Conv2D(3, 3, padding="same"), L.BatchNormalization(**bn), L.Conv2D(2, 3, activation="relu")]


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("bn", [{}, {"momentum": 0.5, "epsilon": 0.1}, {"center": False, "scale": False}],
                         ids=["defaults", "momentum-epsilon", "no-center-scale"])
def test_batch_norm(bn, training):
    models = _with_moving_stats(_models(_bn_block(**bn), IMG))
    assert_matches_keras(None, IMG, training=training, models=models, **TOL)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_after_dense(training):
    layers = lambda: [L.Dense(4, "tanh"), L.BatchNormalization(momentum=0.7), L.Dense(3)]  # noqa: E731
    assert_matches_keras(None, (5,), training=training, models=_with_moving_stats(_models(layers, (5,))))


@pytest.mark.parametrize("pool", [lambda: L.MaxPooling2D(2), lambda: L.MaxPooling2D(3, strides=2, padding="same"),
                                  lambda: L.AveragePooling2D(2), lambda: L.GlobalAveragePooling2D()],
                         ids=["max", "max-3-same", "avg", "global-avg"])
def test_pooling(pool):
    layers = lambda: [L.Conv2D(3, 3, activation="relu"), pool(), L.Flatten(), L.Dense(3, "softmax")]  # noqa: E731
    assert_matches_keras(layers, IMG, **TOL)


def _paper_block(level=0.5):
    """The builders' block, twice: hidden noise → batch norm → conv → max pooling."""
    return lambda: [AdditiveNoise("gaussian", level, seed=1, stream="hidden"), L.BatchNormalization(name="bn0"),
                    L.Conv2D(3, 3, padding="same", activation="relu"), L.MaxPooling2D(2),
                    AdditiveNoise("gaussian", level, seed=2, stream="hidden"), L.BatchNormalization(),
                    L.Conv2D(2, 3, padding="same", activation="relu"), L.MaxPooling2D(2), L.Flatten(), L.Dense(3, "softmax")]


@pytest.mark.parametrize("training", [True, False])
def test_paper_block(training):
    assert_matches_keras(None, (8, 8, 2), training=training, models=_with_moving_stats(_models(_paper_block(), (8, 8, 2))), **TOL)


def test_built_cnn_and_shared_inference():
    """build_model's cnn-small at a tiny width: training pass, and inference on one shared batch."""
    from tests.algorithms.test_layers_vs_keras import KEYS, stacked_forward
    from tffnoise.config.schema import Model
    from tffnoise.models.builders import build_model
    from tffnoise.noise.registry import build as build_mechanisms
    from tffnoise.config.schema import NoiseSpec

    mechs = build_mechanisms({"hidden": NoiseSpec(level=0.3), "input": NoiseSpec(level=0.3)})
    cfg = Model(architecture="cnn-small", width=0.04, dropout=0.25)
    models = [build_model(cfg, (8, 8, 1), 4, mechs, seed=s) for s in range(3)]
    assert any(isinstance(layer, L.BatchNormalization) for layer in models[0].layers)
    assert_matches_keras(None, (8, 8, 1), models=_with_moving_stats(models), **TOL)
    x = np.random.default_rng(3).normal(size=(5, 8, 8, 1)).astype(np.float32)
    params = [tf.constant(np.stack(ws)) for ws in zip(*[m.get_weights() for m in models])]
    out = stacked_forward(models, params, tf.constant(x), KEYS, False, shared=True)[0]
    for k, m in enumerate(models):
        np.testing.assert_allclose(out[k], m(x, training=False), **TOL)


# --- the checks catch deliberate errors --------------------------------------------------------------
def _edit(monkeypatch, edit):
    from tffnoise.algorithms import forward

    real = forward.stack_plan
    monkeypatch.setattr(forward, "stack_plan", lambda model: [edit(op) for op in real(model)])


def _on(name, **change):
    return lambda op: dataclasses.replace(op, **{k: v(op) for k, v in change.items()}) if type(op).__name__ == name else op


@pytest.mark.parametrize("edit, training", [
    (_on("BatchNorm", momentum=lambda op: 1.0 - op.momentum), True),
    (_on("BatchNorm", epsilon=lambda op: op.epsilon * 10 + 1e-2), False),
    (_on("BatchNorm", mean=lambda op: op.var), False),
    (_on("Pool2D", kind=lambda op: "avg"), True),
], ids=["momentum-swapped", "wrong-epsilon", "mean-from-variance-slot", "avg-for-max"])
def test_the_comparison_catches_a_wrong_plan(monkeypatch, edit, training):
    models = _with_moving_stats(_models(_paper_block(), (8, 8, 2)))
    _edit(monkeypatch, edit)
    with pytest.raises(AssertionError):
        assert_matches_keras(None, (8, 8, 2), training=training, models=models, **TOL)


def test_the_comparison_catches_the_unbiased_variance(monkeypatch):
    models = _models(_bn_block(momentum=0.5), IMG)
    real = tf.nn.moments

    def unbiased(x, axes, **kw):
        m, v = real(x, axes, **kw)
        n = float(np.prod([x.shape[a] for a in axes]))
        return m, v * n / (n - 1)

    monkeypatch.setattr(tf.nn, "moments", unbiased)
    with pytest.raises(AssertionError):
        assert_matches_keras(None, IMG, models=models, **TOL)


# --- mixed precision ------------------------------------------------------------------------------
def _mixed_models(policy):
    previous = tf.keras.mixed_precision.global_policy()
    tf.keras.mixed_precision.set_global_policy(policy)
    try:
        layers = lambda: [*_paper_block()()[:-1], L.Dense(3, "softmax", dtype="float32")]  # noqa: E731
        return _with_moving_stats(_models(layers, (8, 8, 2)))
    finally:
        tf.keras.mixed_precision.set_global_policy(previous)


@pytest.mark.parametrize("policy, tol", [("mixed_float16", 1e-2), ("mixed_bfloat16", 5e-2)])
def test_mixed_precision_matches_keras_and_float32(policy, tol):
    """float16 / bfloat16 compute with float32 weights: the stacked pass against Keras's mixed model
    (tolerance 1e-2 for float16's 11-bit significand, 5e-2 for bfloat16's 8 bits, on O(1) values), and
    against the same weights in float32 (the numerics test on CPU); the output stays float32."""
    from tests.algorithms.test_layers_vs_keras import KEYS, _inputs
    from tffnoise.algorithms import forward

    models = _mixed_models(policy)
    assert models[0].layers[2].compute_dtype != "float32" and all(w.dtype == tf.float32 for w in models[0].weights)
    plan = forward.stack_plan(models[0])
    assert {op.dtype for op in plan if hasattr(op, "dtype")} == {policy.split("_")[1], "float32"}
    out = assert_matches_keras(None, (8, 8, 2), models=models, atol=tol, rtol=tol)
    params = [tf.constant(np.stack(ws)) for ws in zip(*[m.get_weights() for m in models])]
    f32 = [dataclasses.replace(op, dtype="float32") if hasattr(op, "dtype") else op for op in plan]
    ref = forward.forward(f32, params, tf.constant(_inputs((8, 8, 2))), tf.constant(KEYS),
                          {s: tf.constant(0.5) for s in ("input", "hidden")})
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, ref.numpy(), atol=tol, rtol=tol)
    assert not np.array_equal(out, ref.numpy())  # it did compute in lower precision

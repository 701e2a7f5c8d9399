"""The stacked forward pass against the Keras layers it stands for: an independent check.

Both engines now share one client update, so engine-equality tests no longer compare independent code.
This module compares the stacked engine's own forward (`forward.forward` / `forward_shared` over a plan
read by `forward.stack_plan`) with what Keras computes for each model separately: for K = 3 models of
each supported layer type (Dense with every activation, with and without bias, L1/L2 regularizers as
penalties; Flatten; `AdditiveNoise` on the input and hidden streams with every distribution;
`SeededDropout`), the output and the gradient of a random linear functional of it (plus the penalty)
with respect to the weights and the input equal Keras's output and `tf.GradientTape` gradient of each
model, with training=True under the same step key (`noise.context.step_key`) and at training=False.

Every weight after the pass (batch-norm moving statistics, which the forward pass updates) equals what
the Keras layer left in its variables. The CNN layers' checks are in test_cnn_layers_vs_keras.py.

Tolerance: float32, atol = rtol = 1e-5 (the batched einsum and Keras's matmul may sum in another order;
values are O(1) on these shapes). The last test shows the check is not vacuous: a plan with the noise
layer's stream or seed changed, or dropout without its 1/(1 − rate) scale, fails the comparison.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from tffnoise.config.schema import ACTIVATIONS, OUTPUTS
from tffnoise.noise.context import step_key
from tffnoise.noise.distributions import NAMES as DISTRIBUTIONS
from tffnoise.noise.layers import AdditiveNoise, SeededDropout

K, B, D = 3, 4, 5
ATOL = RTOL = 1e-5
KEYS = np.array([11, 2024, 7], np.int64)  # one step key per stacked model


def stacked_forward(models, params, x, keys, training, shared=False):
    """The ONE call into engine code: (outputs [K, B, out], penalty [K] or None, weights after the pass)
    of the stacked plan.
    The lead adapts this helper if `forward`'s signature changes in the engine rewrite."""
    from tffnoise.algorithms import forward
    from tffnoise.algorithms.plan import layer_levels

    plan = forward.stack_plan(models[0])
    if shared:
        return forward.forward_shared(plan, params, x), forward.penalty(plan, params), params
    # the levels are a runtime input keyed by stream (None: inference); here the Keras layers' own levels
    # (every stream at the model's one noise level, so a plan edited to read another stream runs too)
    own = set(layer_levels(models[0]).values())
    assert len(own) <= 1
    level = own.pop() if own else 0.0
    levels = {s: tf.constant(level, tf.float32) for s in ("input", "hidden")} if training else None
    out, after = forward.forward_with_state(plan, params, x, tf.constant(keys), levels)
    return out, forward.penalty(plan, params), after


def _models(layers_fn, input_shape, seed=0):
    """K models of one architecture, each with its own initial weights (layers_fn builds fresh layers)."""
    out = []
    for k in range(K):
        tf.keras.utils.set_random_seed(seed + k)
        out.append(tf.keras.Sequential([tf.keras.Input(input_shape), *layers_fn()]))
    return out


def _inputs(input_shape, seed=1):
    return np.random.default_rng(seed).normal(size=(K, B, *input_shape)).astype(np.float32)


def _cotangent(out_shape, seed=2):
    """A random linear functional of the output, so every output entry has its own weight in the loss."""
    return tf.constant(np.random.default_rng(seed).normal(size=out_shape).astype(np.float32))


def _keras(models, x, training):
    """Each model on its own inputs, under its own step key: (outputs, loss grads w.r.t. weights and x)."""
    outs, gw, gx = [], [], []
    for k, model in enumerate(models):
        xk = tf.constant(x[k])
        with tf.GradientTape() as tape, step_key(tf.constant(KEYS[k])):
            tape.watch(xk)
            out = model(xk, training=training)
            c = _cotangent((K, *out.shape))[k]
            loss = tf.reduce_sum(out * c) + tf.add_n(model.losses or [tf.constant(0.0)])
        g = tape.gradient(loss, model.trainable_weights + [xk])
        outs.append(out.numpy())
        gw.append([t.numpy() for t in g[:-1]])
        gx.append(g[-1].numpy())
    return np.stack(outs), gw, np.stack(gx)


def _stacked(models, x, training, weights=None):
    """weights: each model's weights before the pass (default: as they are now)."""
    weights = weights or [m.get_weights() for m in models]
    params = [tf.constant(np.stack(ws)) for ws in zip(*weights)]
    xs = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(params + [xs])
        out, pen, after = stacked_forward(models, params, xs, KEYS, training)
        loss = tf.reduce_sum(out * _cotangent(out.shape)) + (tf.reduce_sum(pen) if pen is not None else 0.0)
    g = tape.gradient(loss, params + [xs])
    pen = pen.numpy() if pen is not None else np.zeros(K)
    gw = [None if t is None else t.numpy() for t in g[:-1]]
    return out.numpy(), gw, g[-1].numpy(), pen, [w.numpy() for w in after]


def assert_matches_keras(layers_fn, input_shape=(D,), training=True, atol=ATOL, rtol=RTOL, models=None):
    """The stacked pass of K models against Keras's (output, gradients, the weights each pass leaves)."""
    models = models or _models(layers_fn, input_shape)
    x = _inputs(input_shape)
    before = [m.get_weights() for m in models]
    k_out, k_gw, k_gx = _keras(models, x, training)
    s_out, s_gw, s_gx, s_pen, s_after = _stacked(models, x, training, before)
    np.testing.assert_allclose(s_out, k_out, atol=atol, rtol=rtol, err_msg="output")
    np.testing.assert_allclose(s_gx, k_gx, atol=atol, rtol=rtol, err_msg="gradient w.r.t. the input")
    for k, model in enumerate(models):
        keras_pen = float(tf.add_n(model.losses)) if model.losses else 0.0
        assert s_pen[k] == pytest.approx(keras_pen, rel=rtol, abs=atol)
        slot = {id(v): j for j, v in enumerate(model.weights)}  # trainable weight i is weight slot[...] of the model
        for i, g in enumerate(k_gw[k]):
            j = slot[id(model.trainable_weights[i])]
            np.testing.assert_allclose(s_gw[j][k], g, atol=atol, rtol=rtol, err_msg=f"model {k} weight {j}")
        for j, w in enumerate(model.get_weights()):
            np.testing.assert_allclose(s_after[j][k], w, atol=atol, rtol=rtol, err_msg=f"model {k} weight {j} after the pass")
    return s_out


def _dense(activation, use_bias=True, **kw):
    return lambda: [tf.keras.layers.Dense(6, activation=activation, use_bias=use_bias, **kw)]


# The config's activations and outputs, and others a plug-in model may use.
ALL_ACTIVATIONS = sorted(set(ACTIVATIONS + OUTPUTS + ("elu", "softplus", "swish", "gelu", "selu")))


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("activation", ALL_ACTIVATIONS)
def test_dense(activation, use_bias, training):
    assert_matches_keras(_dense(activation, use_bias), training=training)


def test_dense_square_kernel():
    """D → D: a transposed kernel would still run, with other values."""
    assert_matches_keras(lambda: [tf.keras.layers.Dense(D, "tanh"), tf.keras.layers.Dense(D)])


@pytest.mark.parametrize("kernel, bias", [
    (tf.keras.regularizers.L2(0.03), None),
    (tf.keras.regularizers.L1(0.02), tf.keras.regularizers.L2(0.05)),
    (tf.keras.regularizers.L1L2(l1=0.01, l2=0.04), tf.keras.regularizers.L1(0.03)),
])
def test_dense_regularizers_are_the_models_penalties(kernel, bias):
    assert_matches_keras(lambda: [tf.keras.layers.Dense(6, "tanh", kernel_regularizer=kernel, bias_regularizer=bias),
                                  tf.keras.layers.Dense(3, kernel_regularizer=tf.keras.regularizers.L2(0.02))])


@pytest.mark.parametrize("training", [True, False])
def test_flatten(training):
    assert_matches_keras(lambda: [tf.keras.layers.Flatten(), tf.keras.layers.Dense(4, "sigmoid")], (2, 3, 2),
                         training=training)


def _noisy(distribution, stream, level=0.7, seed=5):
    """Noise between two nonlinear layers (or on the input), so it reaches the weight gradients."""
    noise = lambda: AdditiveNoise(distribution, level, seed=seed, stream=stream)  # noqa: E731
    if stream == "input":
        return lambda: [noise(), tf.keras.layers.Dense(6, "tanh"), tf.keras.layers.Dense(3, "sigmoid")]
    return lambda: [tf.keras.layers.Dense(6, "tanh"), noise(), tf.keras.layers.Dense(3, "sigmoid")]


@pytest.mark.parametrize("stream", ["input", "hidden"])
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_additive_noise(distribution, stream):
    noisy = assert_matches_keras(_noisy(distribution, stream))
    clean = assert_matches_keras(_noisy(distribution, stream), training=False)
    assert np.abs(noisy - clean).max() > 1e-3  # the noise was drawn, in both


def _dropped(rate=0.4, seed=3):
    return lambda: [tf.keras.layers.Dense(8, "relu"), SeededDropout(rate, seed=seed), tf.keras.layers.Dense(3, "tanh")]


def test_seeded_dropout():
    out = assert_matches_keras(_dropped())
    assert not np.allclose(out, assert_matches_keras(_dropped(), training=False), atol=1e-3)


def test_shared_batch_inference_is_each_model_on_it():
    """forward_shared (one batch for every model, the evaluation path) at inference: noise and dropout off."""
    layers = lambda: [tf.keras.layers.Flatten(), *_noisy("gaussian", "hidden")(), SeededDropout(0.5, seed=2)]  # noqa: E731
    models = _models(layers, (2, 3))
    x = _inputs((2, 3))[0]
    params = [tf.constant(np.stack(ws)) for ws in zip(*[m.get_weights() for m in models])]
    out, _, _ = stacked_forward(models, params, tf.constant(x), KEYS, False, shared=True)
    for k, model in enumerate(models):
        np.testing.assert_allclose(out[k], model(x, training=False), atol=ATOL, rtol=RTOL)


def _broken(edit):
    """stack_plan with `edit` applied to each op: the stacked side then runs another plan than Keras."""
    from tffnoise.algorithms import forward

    real = forward.stack_plan
    return lambda model: [edit(op) for op in real(model)]


def _is(op, name):
    return type(op).__name__ == name


@pytest.mark.parametrize("layers_fn, edit", [
    (_noisy("gaussian", "hidden"), lambda op: dataclasses.replace(op, stream="input") if _is(op, "Noise") else op),
    (_noisy("laplace", "input"), lambda op: dataclasses.replace(op, seed=op.seed + 1) if _is(op, "Noise") else op),
    (_dropped(), lambda op: dataclasses.replace(op, seed=op.seed + 1) if _is(op, "Dropout") else op),
], ids=["noise-wrong-stream", "noise-wrong-seed", "dropout-wrong-seed"])
def test_the_comparison_catches_a_wrong_draw(monkeypatch, layers_fn, edit):
    from tffnoise.algorithms import forward

    monkeypatch.setattr(forward, "stack_plan", _broken(edit))
    with pytest.raises(AssertionError):
        assert_matches_keras(layers_fn)


def test_the_comparison_catches_unscaled_dropout(monkeypatch):
    """Dropout without the 1/(1 − rate) scale on the stacked side (kept units at their value) must fail."""
    models = _models(_dropped(0.4), (D,))
    x = _inputs((D,))
    k_out = _keras(models, x, True)[0]
    real_where = tf.where
    monkeypatch.setattr(tf, "where", lambda c, a, b: real_where(c, a * (1.0 - 0.4), b))
    s_out = _stacked(models, x, True)[0]
    monkeypatch.undo()
    assert not np.allclose(s_out, k_out, atol=ATOL, rtol=RTOL)
    np.testing.assert_allclose(_stacked(models, x, True)[0], k_out, atol=ATOL, rtol=RTOL)


def test_keras_random_layers_are_refused_by_the_plan():
    """Keras's own Dropout draws from Keras's generator, which the stacked engine cannot reproduce."""
    from tffnoise.errors import UserError

    with pytest.raises(UserError, match='engine = "tff"'):
        stacked_forward(_models(lambda: [tf.keras.layers.Dropout(0.5)], (6,))[:1], [], None, KEYS, True)

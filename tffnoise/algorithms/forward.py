"""The stacked forward plan (plan.py) run as pure functions of stacked weights: what lets the stacked
engine run K learners (and repeats) as one batched computation. Noise ops take their level from
`levels` (stream name -> scalar), a runtime input of the compiled round.

Activations carry the learner axis first ([K, B, ...], channels last), or none while every model still
reads the one shared batch (inference). A convolution runs as K ordinary convolutions of the round's
program, one per model: under XLA on this CPU it beat a grouped convolution (learner axis folded into
channels) and an im2col batched matmul, and in the graph runtime (CNNs on a CPU) it beat or tied im2col
and tf.vectorized_map at cnn-small's sizes; a grouped convolution has no gradient there with Eigen's
kernels (TF's default on this CPU), and only with oneDNN's is it faster, for some layers
(docs/performance.md, "CNNs on a CPU").
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from tffnoise.algorithms.plan import (BatchNorm, Conv2D, Dense, Dropout, Flatten, GlobalAvgPool, Noise, Penalty,  # noqa: F401
                                      Pool2D, stack_plan)
from tffnoise.noise import distributions, rng


def penalty(plan, params):
    """[K]: each model's regularization loss, l1·Σ|w| + l2·Σw² per regularized weight (Keras's L1L2),
    or None when the model has none."""
    terms = []
    for op in plan:
        if isinstance(op, Penalty):
            w = params[op.weight]
            axes = list(range(1, len(w.shape)))
            if op.l1:
                terms.append(op.l1 * tf.reduce_sum(tf.abs(w), axes))
            if op.l2:
                terms.append(op.l2 * tf.reduce_sum(tf.square(w), axes))
    return tf.add_n(terms) if terms else None


def _per_channel(v, h):
    """[K, C] -> broadcastable against h [K, B, ..., C]."""
    return tf.reshape(v, [v.shape[0]] + [1] * (len(h.shape) - 2) + [v.shape[-1]])


def _w(params, j, dtype):
    return tf.cast(params[j], dtype)


def _conv(op, params, h, shared):
    k, h = _w(params, op.kernel, op.dtype), tf.cast(h, op.dtype)
    out = tf.stack([tf.nn.conv2d(h if shared else h[i], k[i], op.strides, op.padding) for i in range(k.shape[0])])
    if op.bias is not None:
        out = out + _per_channel(_w(params, op.bias, op.dtype), out)
    return tf.keras.activations.get(op.activation)(out)


def _batch_norm(op, params, h, shared, training, updates):
    h = tf.cast(h[None] if shared else h, tf.float32)
    if training:
        axes = list(range(1, len(h.shape) - 1))
        mean, var = tf.nn.moments(h, axes)
        n = float(np.prod([h.shape[a] for a in axes]))
        moved = var * (n / max(n - 1.0, 1.0)) if op.unbiased else var
        for j, batch in ((op.mean, mean), (op.var, moved)):
            updates[j] = params[j] * op.momentum + batch * (1.0 - op.momentum)
    else:
        mean, var = params[op.mean], params[op.var]
    scale = tf.math.rsqrt(_per_channel(var, h) + op.epsilon)
    if op.gamma is not None:
        scale = scale * _per_channel(params[op.gamma], h)
    out = (h - _per_channel(mean, h)) * scale
    out = out + _per_channel(params[op.beta], h) if op.beta is not None else out
    return tf.cast(out, op.dtype)


def _pool(op, h, lead: int):
    shape = tf.shape(h)
    flat = tf.reshape(h, tf.concat([[-1], shape[lead:]], 0))
    fn = tf.nn.max_pool2d if op.kind == "max" else tf.nn.avg_pool2d
    out = fn(flat, op.size, op.strides, op.padding)
    return tf.reshape(out, tf.concat([shape[:lead], tf.shape(out)[1:]], 0))


def _dense(h, w, shared: bool):
    """K models' dense layer. Per-model inputs [K, B, i] go through a batched matmul, not an einsum:
    under XLA on a CPU its weight gradient (hᵀ·dy, a rank-B update) ran 1.3x faster than the einsum's
    in a learner block of the MNIST MLP (docs/performance.md). One batch shared by every model
    (inference) keeps the einsum: no copy of the batch per model."""
    if shared:
        return tf.einsum("bi,kio->kbo", h, w)
    return tf.matmul(h, w)


def _run(plan, params, h, shared: bool, step_key, levels):
    """levels None: inference (noise and dropout off, batch norm on its moving statistics). Returns the
    output and {weight index: new value} of the weights the pass updates (batch-norm statistics)."""
    training = levels is not None
    updates: dict = {}
    for op in plan:
        lead = 1 if shared else 2
        if isinstance(op, Flatten):
            h = tf.reshape(h, tf.concat([tf.shape(h)[:lead], [-1]], 0))
        elif isinstance(op, Dense):
            h = _dense(tf.cast(h, op.dtype), _w(params, op.kernel, op.dtype), shared)
            shared = False
            if op.bias is not None:
                h = h + _w(params, op.bias, op.dtype)[:, None, :]
            h = tf.keras.activations.get(op.activation)(h)
        elif isinstance(op, Conv2D):
            h, shared = _conv(op, params, h, shared), False
        elif isinstance(op, BatchNorm):
            h, shared = _batch_norm(op, params, h, shared, training, updates), False
        elif isinstance(op, Pool2D):
            h = _pool(op, h, lead)
        elif isinstance(op, GlobalAvgPool):
            h = tf.reduce_mean(h, [lead, lead + 1])
        elif isinstance(op, Noise) and training:
            key = rng.fold_all(step_key, rng.STREAMS[op.stream], op.seed)
            z = levels[op.stream] * distributions.standard(op.distribution, key, tf.shape(h)[1:])
            h = tf.cast(h, op.dtype) + tf.cast(z, op.dtype)
        elif isinstance(op, Dropout) and training and op.rate > 0:
            key = rng.fold_all(step_key, rng.STREAMS["dropout"], op.seed)
            n = tf.cast(tf.reduce_prod(tf.shape(h)[1:]), tf.int64)
            keep = tf.reshape(rng.uniform01(key, n) >= op.rate, tf.shape(h))
            h = tf.where(keep, h / (1.0 - op.rate), tf.zeros_like(h))
    return h, updates


def forward_with_state(plan, params, x, step_key, levels):
    """Training pass: params and x carry the learner axis K ([K, B, ...]); step_key is [K]; levels maps
    each noise op's stream to its level. Returns (outputs, params with the forward pass's updates)."""
    out, updates = _run(plan, params, x, False, step_key, levels)
    return out, [updates.get(j, w) for j, w in enumerate(params)]


def forward(plan, params, x, step_key, levels):
    """The outputs of `forward_with_state`."""
    return _run(plan, params, x, False, step_key, levels)[0]


def forward_shared(plan, params, x):
    """Inference of K models on one shared batch x [B, ...] -> [K, B, out] (no copy of x per model)."""
    return _run(plan, params, x, True, None, None)[0]

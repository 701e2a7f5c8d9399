"""The stacked forward plan (plan.py) run as pure functions of stacked weights: what lets the stacked
engine run K learners (and repeats) as one batched computation. Noise ops take their level from
`levels` (stream name -> scalar), a runtime input of the compiled round."""
from __future__ import annotations

import tensorflow as tf

from tffnoise.algorithms.plan import Dense, Dropout, Flatten, Noise, Penalty, stack_plan  # noqa: F401 (stack_plan re-exported)
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


def _run(plan, params, h, shared: bool, step_key, levels):
    """levels None: inference (noise and dropout off)."""
    training = levels is not None
    for op in plan:
        if isinstance(op, Flatten):
            lead = 1 if shared else 2
            h = tf.reshape(h, tf.concat([tf.shape(h)[:lead], [-1]], 0))
        elif isinstance(op, Dense):
            h = tf.einsum("bi,kio->kbo" if shared else "kbi,kio->kbo", h, params[op.kernel])
            shared = False
            if op.bias is not None:
                h = h + params[op.bias][:, None, :]
            h = tf.keras.activations.get(op.activation)(h)
        elif isinstance(op, Noise) and training:
            key = rng.fold_all(step_key, rng.STREAMS[op.stream], op.seed)
            h = h + levels[op.stream] * distributions.standard(op.distribution, key, tf.shape(h)[1:])
        elif isinstance(op, Dropout) and training and op.rate > 0:
            key = rng.fold_all(step_key, rng.STREAMS["dropout"], op.seed)
            n = tf.cast(tf.reduce_prod(tf.shape(h)[1:]), tf.int64)
            keep = tf.reshape(rng.uniform01(key, n) >= op.rate, tf.shape(h))
            h = tf.where(keep, h / (1.0 - op.rate), tf.zeros_like(h))
    return h


def forward(plan, params, x, step_key, levels):
    """Training pass: params and x carry the learner axis K ([K, B, ...]); step_key is [K]; levels maps
    each noise op's stream to its level."""
    return _run(plan, params, x, False, step_key, levels)


def forward_shared(plan, params, x):
    """Inference of K models on one shared batch x [B, ...] -> [K, B, out] (no copy of x per model)."""
    return _run(plan, params, x, True, None, None)

"""A Keras model's forward pass as pure functions of stacked weights: what lets the stacked engine run
K learners (and repeats) as one batched computation.

Supported layers: Dense (with L1/L2 weight regularizers), Flatten, noise layers, seeded dropout.
Anything else (Conv2D, BatchNormalization, a plug-in's custom layer, activity regularizers or add_loss)
is refused with a message pointing to engine = "tff". A regularizer becomes a ("penalty", weight, l1, l2)
entry of the plan, which the forward pass skips and `penalty` adds to each model's training objective,
as Keras adds `model.losses` (the TFF engine adds `model.losses` itself).
"""
from __future__ import annotations

import tensorflow as tf

from tffnoise.errors import UserError
from tffnoise.noise import distributions, rng
from tffnoise.noise.layers import AdditiveNoise, SeededDropout


def stack_plan(model: tf.keras.Model) -> list[tuple]:
    plan, w = [], 0
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.InputLayer):
            continue
        if isinstance(layer, tf.keras.layers.Flatten):
            plan.append(("flatten",))
        elif isinstance(layer, tf.keras.layers.Dense):
            act = tf.keras.activations.serialize(layer.activation)
            act = act if isinstance(act, str) else act.get("config", {}).get("name", "linear")
            plan.append(("dense", w, w + 1 if layer.use_bias else None, act))
            plan += [_penalty(model, layer, wi, reg) for wi, reg in
                     ((w, layer.kernel_regularizer), (w + 1 if layer.use_bias else None, layer.bias_regularizer))
                     if reg is not None and wi is not None]
            w += 2 if layer.use_bias else 1
        elif isinstance(layer, AdditiveNoise):
            plan.append(("noise", layer.distribution, layer.level, layer.seed, layer.stream))
        elif isinstance(layer, SeededDropout):
            plan.append(("dropout", layer.rate, layer.seed))
        else:
            raise UserError(
                f"engine: 'stacked' supports models of Dense, Flatten, SeededDropout and noise layers; model "
                f"{model.name!r} has {type(layer).__name__} ({layer.name}): set engine = \"tff\"")
    if w != len(model.get_weights()):
        raise UserError(f"engine: 'stacked' cannot map the weights of model {model.name!r}: set engine = \"tff\"")
    if len(model.losses) != sum(op[0] == "penalty" for op in plan):
        raise UserError(f"engine: 'stacked' computes only Dense layers' weight regularizers; model {model.name!r} "
                        "has other losses (activity regularizers or add_loss): set engine = \"tff\"")
    return plan


def _penalty(model, layer, wi: int, reg) -> tuple:
    kinds = (tf.keras.regularizers.L1, tf.keras.regularizers.L2, tf.keras.regularizers.L1L2)
    if type(reg) not in kinds:
        raise UserError(f"engine: 'stacked' computes L1/L2 weight regularizers only; model {model.name!r} layer "
                        f"{layer.name!r} has {type(reg).__name__}: set engine = \"tff\"")
    return ("penalty", wi, float(getattr(reg, "l1", 0.0) or 0.0), float(getattr(reg, "l2", 0.0) or 0.0))


def penalty(plan, params):
    """[K]: each model's regularization loss, l1·Σ|w| + l2·Σw² per regularized weight (Keras's L1L2),
    or None when the model has none."""
    terms = []
    for op in plan:
        if op[0] == "penalty":
            _, wi, l1, l2 = op
            w = params[wi]
            axes = list(range(1, len(w.shape)))
            if l1:
                terms.append(l1 * tf.reduce_sum(tf.abs(w), axes))
            if l2:
                terms.append(l2 * tf.reduce_sum(tf.square(w), axes))
    return tf.add_n(terms) if terms else None


def _run(plan, params, h, shared: bool, step_key, training: bool):
    for op in plan:
        kind = op[0]
        if kind == "flatten":
            lead = 1 if shared else 2
            h = tf.reshape(h, tf.concat([tf.shape(h)[:lead], [-1]], 0))
        elif kind == "dense":
            _, wi, bi, act = op
            h = tf.einsum("bi,kio->kbo" if shared else "kbi,kio->kbo", h, params[wi])
            shared = False
            if bi is not None:
                h = h + params[bi][:, None, :]
            h = tf.keras.activations.get(act)(h)
        elif kind == "noise" and training:
            _, dist, level, seed, stream = op
            if not isinstance(level, (int, float)) or level > 0:  # a tensor level: a compiled sweep
                key = rng.fold_all(step_key, rng.STREAMS[stream], seed)
                h = h + level * distributions.standard(dist, key, tf.shape(h)[1:])
        elif kind == "dropout" and training:
            _, rate, seed = op
            if rate > 0:
                key = rng.fold_all(step_key, rng.STREAMS["dropout"], seed)
                n = tf.cast(tf.reduce_prod(tf.shape(h)[1:]), tf.int64)
                keep = tf.reshape(rng.uniform01(key, n) >= rate, tf.shape(h))
                h = tf.where(keep, h / (1.0 - rate), tf.zeros_like(h))
    return h


def forward(plan, params, x, step_key, training: bool = True):
    """Training pass: params and x carry the learner axis K ([K, B, ...]); step_key is [K]."""
    return _run(plan, params, x, False, step_key, training)


def forward_shared(plan, params, x):
    """Inference of K models on one shared batch x [B, ...] -> [K, B, out] (no copy of x per model)."""
    return _run(plan, params, x, True, None, False)

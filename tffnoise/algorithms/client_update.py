"""One round of local work for K learners, written once: the stacked engine runs it batched over
K = repeats × learners (its stacked plan), the TFF engine's client work runs it with K = 1 (the Keras
model), each through a model adapter (model_adapters.py). Aggregation is not here: each engine keeps
its own (TFF's federated sum / DP aggregator; the stacked engine's batched mean).

Order of one round t (Algorithm 1 with paper 2's mechanisms), every hook in `problem.mechanisms` order:

1. round start: `on_round_start(params, keys, t, level)` (weight noise at init / after each sync);
2. b local steps, global step g = (t−1)·b + s + 1:
   batch (x, y) → `on_labels` → `on_step_params` (step weight noise) → forward with training=True under
   the step key `keys.step_keys(keys, g)` → loss → gradient (DP-SGD: `DpSgd.noised` of the adapter's
   microbatch gradients instead) → `on_gradients` → w ← w − η·g on the perturbed weights (weights the
   adapter does not train take what the forward pass left, e.g. batch-norm statistics);
3. the training loss, accuracy and summed batch losses of the b steps, per learner.

Weight noise is for the weights SGD trains: a hook's draws for untrained slots are discarded (noise on
a moving variance can make it negative), every tensor is still drawn, so tensor j keeps its key.
`levels` maps a mechanism's name (and a noise layer's stream) to its level, a runtime input.
"""
from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from tffnoise.algorithms import keys as keylib
from tffnoise.algorithms import losses


@dataclass(frozen=True)
class LocalWork:
    steps: int             # b, local steps per round
    num_classes: int       # what label noise flips among; 0 for regression targets
    regression: bool


def kept(perturbed: list, before: list, trainable: list) -> list:
    return [p if tr else b for p, b, tr in zip(perturbed, before, trainable)]


def local_round(work: LocalWork, model, mechanisms, params: list, keys, t, batch, lr, levels: dict, dp_sgd=None):
    """Round t of K learners from `params` (each [K, ...]); `keys` int64 [K]; `batch(s, g)` gives step
    s's (x [K, B, ...], y [K, B]). Returns (params, loss sum, correct sum, batch-loss sum), each [K]."""
    b, trainable = work.steps, model.trainable
    for mech in mechanisms:
        params = kept(mech.on_round_start(params, keys, t, levels[mech.name]), params, trainable)
    zeros = tf.zeros(keys.shape)

    def step(s, params, loss_acc, corr_acc, cum):
        g = (t - 1) * b + s + 1
        x, y_true = batch(s, g)
        y = y_true
        for mech in mechanisms:
            y = mech.on_labels(y, keys, g, work.num_classes, levels[mech.name])
        p_eval = params
        for mech in mechanisms:
            p_eval = kept(mech.on_step_params(p_eval, keys, g, levels[mech.name]), p_eval, trainable)
        sk = keylib.step_keys(keys, g)
        grads, out, pe, bl, after = model.loss_and_grads(p_eval, x, y, sk, levels, need_grads=dp_sgd is None)
        if dp_sgd is not None:
            grads = dp_sgd.noised(model.microbatch_grads(p_eval, x, y, sk, dp_sgd.mb, levels), p_eval, keys, g)
        for mech in mechanisms:
            grads = mech.on_gradients(grads, keys, g, levels[mech.name])
        params = [w - lr * gr if tr else a for w, gr, a, tr in zip(p_eval, grads, after, trainable)]
        loss_acc = loss_acc + tf.reduce_mean(pe, -1)
        corr_acc = corr_acc + tf.reduce_mean(losses.correct(out, y_true, work.regression), -1)
        return s + 1, params, loss_acc, corr_acc, cum + bl

    _, params, loss_acc, corr_acc, cum = tf.while_loop(
        lambda s, *_: s < b, step, (tf.constant(0, tf.int64), list(params), zeros, zeros, zeros))
    return params, loss_acc, corr_acc, cum

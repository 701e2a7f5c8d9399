"""The TFF engine's client work: one learner's round is client_update.local_round with K = 1 through
the Keras model (model_adapters.KerasLearner), the stacked engine's round step for step; this module
turns the client-placed data into its inputs and its result into the report the federated sum (or
DP-FedAvg's aggregator) takes."""
from __future__ import annotations

import tensorflow as tf

from tffnoise.algorithms.client_update import LocalWork, local_round
from tffnoise.algorithms.model_adapters import KerasLearner
from tffnoise.algorithms.problem import Problem
from tffnoise.algorithms.tff_layout import ProcessLayout


def client_train(problem: Problem, lay: ProcessLayout, model, weights, round_done, data):
    """One learner's round (the body of the client computation); returns its report for the federated sum."""
    M = lay.learners
    slot = tf.cast(data["slot"], tf.int32)
    keys = tf.reshape(tf.cast(data["key"], tf.int64), [1])
    t = tf.cast(round_done, tf.int64) + 1
    start = [tf.gather(w, slot) for w in weights] if lay.stacked_models else list(weights)
    dp_sgd = None
    if lay.dp_sgd:
        from tffnoise.algorithms.dp import DpSgd

        dp_sgd = DpSgd(lay.privacy.clip, lay.privacy.noise_multiplier, lay.privacy.microbatches, problem.loss_kind)
    work = LocalWork(lay.steps, 0 if problem.regression else problem.num_classes, problem.regression)
    levels = {m.name: m.spec.level for m in problem.mechanisms}  # this cell's: the process is built per cell

    def batch(s, g):
        return tf.gather(data["x"], s)[None], tf.gather(data["y"], s)[None]

    params, loss_acc, corr_acc, cum = local_round(work, KerasLearner(model, problem.loss_kind, lay.trainable),
                                                  problem.mechanisms, [w[None] for w in start], keys, t, batch,
                                                  problem.cfg.training.learning_rate, levels, dp_sgd)
    params, loss_acc, corr_acc, cum = [w[0] for w in params], loss_acc[0], corr_acc[0], cum[0]
    onehot = tf.one_hot(slot, M, dtype=tf.float32)
    if lay.stacked_models:
        # No-sync: the learner's model goes to its own row of a zero stack; the federated sum assembles them.
        model_out = [tf.scatter_nd(tf.reshape(slot, [1, 1]), w[None], tf.concat([[M], tf.shape(w)], 0))
                     for w in params]
    else:
        model_out = [data["sel"] * w for w in params]
    report = {"model": model_out, "count": tf.cast(data["sel"], tf.float32), "loss": loss_acc, "correct": corr_acc,
              "cum": onehot * cum, "nonfinite": tf.cast(tf.logical_not(tf.math.is_finite(loss_acc)), tf.int32)}
    if lay.dp_fedavg:
        # DP-FedAvg: the model goes to the DP aggregator as an update; an unselected client sends zeros.
        del report["model"]
        return {"report": report, "update": [data["sel"] * (w - w0) for w, w0 in zip(params, weights)]}
    return report

"""DP-SGD and DP-FedAvg in the stacked engine, composed with any protocol through `[privacy] mode`.

DP-SGD follows tensorflow-privacy's DPKerasSGDOptimizer: the batch is cut into microbatches, each
microbatch's gradient is clipped to L2 norm C, the clipped gradients are summed, Gaussian noise of
std z·C is added, and the sum is divided by the number of microbatches (tests compare the clipping with
tensorflow-privacy's own optimizer). Per-microbatch gradients come from stacking: every learner's weights
are repeated once per microbatch, so one batched backward pass gives them all.

DP-FedAvg follows TFF's `DifferentiallyPrivateFactory.gaussian_fixed`: each client's update (its model
minus the broadcast model) is clipped to norm C, the updates are summed, noise of std z·C is added, and the
sum is divided by the number of clients that round.

Noise comes from the project's keyed generator (stream "dp"), so DP runs are reproducible per seed.
"""
from __future__ import annotations

import tensorflow as tf

from tffnoise.algorithms import losses
from tffnoise.algorithms.forward import forward
from tffnoise.errors import ConfigError
from tffnoise.noise import distributions, rng


def resolve_noise_multiplier(cfg, problem) -> float:
    """The configured z, or the z that reaches privacy.target_epsilon for this run's schedule."""
    pv = cfg.privacy
    if pv.target_epsilon <= 0:
        return pv.noise_multiplier
    from tffnoise.privacy.accounting import noise_multiplier_for_epsilon

    rate, steps, sampling = accounting_inputs(cfg, problem)
    return noise_multiplier_for_epsilon(target_epsilon=pv.target_epsilon, sample_rate=rate, steps=steps,
                                        delta=pv.delta, accountant=pv.accountant, sampling=sampling)


def accounting_inputs(cfg, problem) -> tuple[float, int, str]:
    """(sample rate, steps, sampling) as the data is actually batched: DP-SGD draws shuffled fixed-size
    batches (each example once per epoch); DP-FedAvg with every client every round has q = 1."""
    if cfg.privacy.mode == "dp-sgd":
        n = problem.x_clients.shape[2]
        return cfg.training.batch_size / n, problem.rounds * problem.steps_per_round, "shuffle"
    m = problem.learners
    k = cfg.training.clients_per_round or m
    return k / m, problem.rounds, "poisson"


def epsilons(cfg, problem, z: float) -> list[float]:
    """ε after each round for the run's schedule."""
    from tffnoise.privacy.accounting import epsilon_per_round

    rate, _, sampling = accounting_inputs(cfg, problem)
    per_round = problem.steps_per_round if cfg.privacy.mode == "dp-sgd" else 1
    return epsilon_per_round(noise_multiplier=z, sample_rate=rate, steps_per_round=per_round, rounds=problem.rounds,
                             delta=cfg.privacy.delta, accountant=cfg.privacy.accountant, sampling=sampling)


def _global_norms(tensors, lead: int):
    sq = [tf.reduce_sum(tf.reshape(tf.square(t), [lead, -1]), 1) for t in tensors]
    return tf.sqrt(tf.add_n(sq))


class DpSgd:
    def __init__(self, privacy, problem):
        B = problem.cfg.training.batch_size
        self.mb = privacy.microbatches or B
        if B % self.mb:
            raise ConfigError("privacy.microbatches", privacy.microbatches, f"a divisor of training.batch_size = {B}")
        self.clip = privacy.l2_norm_clip
        self.z = resolve_noise_multiplier(problem.cfg, problem)
        self.kind = problem.loss_kind

    def private_gradients(self, engine, p_eval, x, y, sk, g, keys=None):
        mb = self.mb
        K = engine.K
        keys = engine.keys if keys is None else keys
        rep = [tf.repeat(w, mb, axis=0) for w in p_eval]
        xs = tf.reshape(x, tf.concat([[K * mb, -1], tf.shape(x)[2:]], 0))
        ys = tf.reshape(y, tf.concat([[K * mb, -1], tf.shape(y)[2:]], 0))
        with tf.GradientTape() as tape:
            tape.watch(rep)
            out = forward(engine.plan, rep, xs, tf.repeat(sk, mb), True)
            per_mb = losses.batch_loss(self.kind, losses.per_example(self.kind, out, ys))
            total = tf.reduce_sum(per_mb)
        grads = tape.gradient(total, rep)
        norms = _global_norms(grads, K * mb)
        factor = tf.minimum(1.0, self.clip / tf.maximum(norms, 1e-12))
        base = rng.fold_all(keys, rng.STREAMS["dp"], g)
        out = []
        for j, gr in enumerate(grads):
            shape = tf.shape(gr)[1:]
            clipped = gr * tf.reshape(factor, tf.concat([[K * mb], tf.ones_like(shape)], 0))
            summed = tf.reduce_sum(tf.reshape(clipped, tf.concat([[K, mb], shape], 0)), 1)
            noise = distributions.sample("gaussian", rng.fold(base, j), gr.shape[1:],
                                         self.z * self.clip * tf.ones([K]))
            total_g = summed + noise
            # mean-reduced losses average over microbatches (tensorflow-privacy); summed losses keep the sum
            out.append(total_g if self.kind == "squared" else total_g / mb)
        return out


class DpFedAvg:
    def __init__(self, privacy, problem):
        self.clip = privacy.l2_norm_clip
        self.z = resolve_noise_multiplier(problem.cfg, problem)

    def private_mean(self, params, server, sel, t, repeat_keys):
        R, M = sel.shape[0], sel.shape[1]
        deltas = []
        for w, s in zip(params, server):
            shape = tf.shape(w)[1:]
            deltas.append(tf.reshape(w, tf.concat([[R, M], shape], 0)) - s[:, None])
        norms = tf.sqrt(tf.add_n([tf.reduce_sum(tf.reshape(tf.square(d), [R, M, -1]), 2) for d in deltas]))
        factor = tf.minimum(1.0, self.clip / tf.maximum(norms, 1e-12)) * sel
        count = tf.reduce_sum(sel, 1)
        base = rng.fold_all(repeat_keys, rng.STREAMS["dp"], t)
        out = []
        for j, (d, s) in enumerate(zip(deltas, server)):
            shape = tf.shape(d)[2:]
            summed = tf.reduce_sum(d * tf.reshape(factor, tf.concat([[R, M], tf.ones_like(shape)], 0)), 1)
            noise = distributions.sample("gaussian", rng.fold(base, j), s.shape[1:], self.z * self.clip * tf.ones([R]))
            out.append(s + (summed + noise) / tf.reshape(count, tf.concat([[R], tf.ones_like(shape)], 0)))
        return out

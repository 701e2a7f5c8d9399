"""DP-SGD and DP-FedAvg in the stacked engine, composed with any protocol through `[privacy] mode`.

DP-SGD follows tensorflow-privacy's DPKerasSGDOptimizer: the batch is cut into microbatches, each
microbatch's gradient is clipped to L2 norm C, the clipped gradients are summed, Gaussian noise of
std z·C is added, and the sum is divided by the number of microbatches (tests compare the clipping with
tensorflow-privacy's own optimizer). `DpSgd.noised` is that step, written once for both engines; the
per-microbatch gradients come from the model adapter (model_adapters.py): the stacked one repeats every
learner's weights once per microbatch, so one batched backward pass gives them all; the Keras one loops
over the microbatches. Each microbatch's forward pass draws its input/hidden noise and dropout from its
own key (`microbatch_keys`), so masks never repeat across the microbatches of a batch.

DP-FedAvg follows TFF's `DifferentiallyPrivateFactory.gaussian_fixed`: clients join a round by Poisson
sampling (`stacked.client_selection`), each client's update (its model minus the broadcast model) is
clipped to norm C, the updates are summed, noise of std z·C is added, and the sum is divided by the
fixed expected number of clients k (not by the round's count, which varies and may be 0).

Noise comes from the project's keyed generator (stream "dp") in float64 (`distributions.dp_gaussian`),
so DP runs are reproducible per seed and the noise is not cut off near 5.8σ (docs/privacy.md).
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from tffnoise.errors import ConfigError
from tffnoise.noise import distributions, rng


def resolve_noise_multiplier(cfg, problem) -> float:
    """The configured z, or the z that reaches privacy.target_epsilon for this run's schedule."""
    pv = cfg.privacy
    if pv.target_epsilon <= 0:
        return pv.noise_multiplier
    from tffnoise.privacy.accounting import noise_multiplier_for_epsilon

    rate, steps, sampling = accounting_inputs(cfg, problem)
    unit = noise_multiplier_for_epsilon(target_epsilon=pv.target_epsilon, sample_rate=rate, steps=steps,
                                        delta=pv.delta, accountant=pv.accountant, sampling=sampling)
    return unit * sensitivity_factor(cfg)


def sensitivity_factor(cfg) -> int:
    """How many clipping norms one example can move the noised sum by (add-or-remove-one example).

    One example per microbatch: removing it removes a vector of norm ≤ C, so 1. Several per microbatch
    (privacy.microbatches < training.batch_size): removing one changes its microbatch's clipped gradient
    from one vector of norm ≤ C to another, a change of up to 2C, so 2 (tensorflow-privacy's
    `used_microbatching=True`). The accountant then sees the noise multiplier z / 2. DP-FedAvg clips
    whole client updates (the client is the unit): 1."""
    pv = cfg.privacy
    if pv.mode != "dp-sgd":
        return 1
    B = cfg.training.batch_size
    return 2 if (pv.microbatches or B) < B else 1


def accounting_inputs(cfg, problem) -> tuple[float, int, str]:
    """(sample rate, steps, sampling) as the data is actually batched: DP-SGD draws shuffled fixed-size
    batches (each example once per epoch); DP-FedAvg samples clients by Poisson at q = k/m
    (`stacked.client_selection`), q = 1 with every client every round."""
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
    return epsilon_per_round(noise_multiplier=z / sensitivity_factor(cfg), sample_rate=rate, steps_per_round=per_round, rounds=problem.rounds,
                             delta=cfg.privacy.delta, accountant=cfg.privacy.accountant, sampling=sampling)


def truncation_delta(cfg, problem, epsilon: float) -> float:
    """The δ the cap of the float64 draw adds to a run's (ε, δ) (docs/privacy.md): the noise that ran is
    within total variation η ≤ ⌈draws/2⌉·2**-53 of exact Gaussian noise (a Box–Muller pair's radius
    exceeds the cap with probability 2**-53), which makes an (ε, δ) mechanism (ε, δ + (1 + e^ε)·η).
    draws = noised releases × coordinates: DP-SGD a learner's steps, DP-FedAvg the rounds."""
    import math

    from tffnoise.noise.rng import UNIFORM53_MIN

    coords = sum(int(np.prod(w.shape[1:])) for w in problem.init_weights)
    releases = problem.rounds * (problem.steps_per_round if cfg.privacy.mode == "dp-sgd" else 1)
    eta = math.ceil(releases * coords / 2) * UNIFORM53_MIN
    return min(1.0, (1.0 + math.exp(min(epsilon, 700.0))) * eta)  # a δ of 1 (or more) says nothing


def microbatch_keys(step_keys, mb: int):
    """[..., mb]: the key each microbatch's forward pass draws its noise layers and dropout from, one per
    microbatch (with one shared key, masks would repeat every B/mb examples). Both engines use it."""
    return rng.fold(tf.expand_dims(tf.cast(step_keys, tf.int64), -1), tf.range(mb, dtype=tf.int64))


def refuse_batch_norm(model, builder: str = "") -> None:
    """DP-SGD cannot cover batch norm: its batch statistics come from the unclipped, un-noised batch and
    reach the model (the moving averages, and every other example's activations) outside the mechanism,
    so no ε would hold. Built-in CNNs are refused in config validation; this catches plug-in models."""
    if any(isinstance(m, tf.keras.layers.BatchNormalization) for m in model.submodules):
        raise ConfigError("privacy.mode", "dp-sgd",
                          f"none or dp-fedavg with model.builder = {builder!r} (its model has BatchNormalization "
                          "layers, whose batch statistics DP-SGD does not privatize)")


class DpSgd:
    """DP-SGD's step for K learners, the one implementation both engines call (client_update.py): the
    per-microbatch gradients come from the model adapter, this clips, sums, noises and divides them."""

    def __init__(self, clip: float, z: float, mb: int, kind: str):
        self.clip, self.z, self.mb, self.kind = clip, z, mb, kind

    @classmethod
    def for_problem(cls, privacy, problem) -> "DpSgd":
        """The run's DP-SGD, resolved (z after privacy.target_epsilon) and validated."""
        B = problem.cfg.training.batch_size
        mb = privacy.microbatches or B
        if B % mb:
            raise ConfigError("privacy.microbatches", privacy.microbatches, f"a divisor of training.batch_size = {B}")
        if problem.cfg.model.builder:
            refuse_batch_norm(problem.model_fn(0), problem.cfg.model.builder)
        return cls(privacy.l2_norm_clip, resolve_noise_multiplier(problem.cfg, problem), mb, problem.loss_kind)

    def noised(self, per_mb: list, params: list, keys, g) -> list:
        """Clipped, noised gradients of K learners from `per_mb[j]` [K·mb, ...], tensor j's gradient of
        each microbatch (row k·mb + i: learner k's microbatch i; None where weight j is not trained: its
        slot gets zeros). The global norm spans every trained tensor; the noise of tensor j draws from
        fold(keys[k], "dp", g, j)."""
        K, mb = int(keys.shape[0]), self.mb
        live = [gr for gr in per_mb if gr is not None]
        norms = tf.sqrt(tf.add_n([tf.reduce_sum(tf.reshape(tf.square(gr), [K * mb, -1]), 1) for gr in live]))
        factor = tf.minimum(1.0, self.clip / tf.maximum(norms, 1e-12))
        base = rng.fold_all(keys, rng.STREAMS["dp"], g)
        out = []
        for j, (gr, w) in enumerate(zip(per_mb, params)):
            if gr is None:
                out.append(tf.zeros_like(w))
                continue
            shape = gr.shape[1:]
            clipped = gr * tf.reshape(factor, [K * mb] + [1] * len(shape))
            summed = tf.reduce_sum(tf.reshape(clipped, [K, mb] + list(shape)), 1)
            total = summed + distributions.dp_gaussian(rng.fold(base, j), shape, self.z * self.clip * tf.ones([K]))
            # mean-reduced losses average over microbatches (tensorflow-privacy); summed losses keep the sum
            out.append(total if self.kind == "squared" else total / mb)
        return out


class DpFedAvg:
    def __init__(self, clip: float, z: float, denominator: float):
        self.clip, self.z, self.denominator = clip, z, denominator

    @classmethod
    def for_problem(cls, privacy, problem) -> "DpFedAvg":
        # The expected clients per round: Poisson sampling makes the count vary (0 included), and a
        # data-dependent denominator would need its own privacy analysis.
        return cls(privacy.l2_norm_clip, resolve_noise_multiplier(problem.cfg, problem),
                   float(problem.cfg.training.clients_per_round or problem.learners))

    def private_mean(self, params, server, sel, t, repeat_keys):
        R, M = sel.shape[0], sel.shape[1]
        deltas = []
        for w, s in zip(params, server):
            shape = tf.shape(w)[1:]
            deltas.append(tf.reshape(w, tf.concat([[R, M], shape], 0)) - s[:, None])
        norms = tf.sqrt(tf.add_n([tf.reduce_sum(tf.reshape(tf.square(d), [R, M, -1]), 2) for d in deltas]))
        factor = tf.minimum(1.0, self.clip / tf.maximum(norms, 1e-12)) * sel
        base = rng.fold_all(repeat_keys, rng.STREAMS["dp"], t)
        out = []
        for j, (d, s) in enumerate(zip(deltas, server)):
            shape = tf.shape(d)[2:]
            summed = tf.reduce_sum(d * tf.reshape(factor, tf.concat([[R, M], tf.ones_like(shape)], 0)), 1)
            noise = distributions.dp_gaussian(rng.fold(base, j), s.shape[1:], self.z * self.clip * tf.ones([R]))
            out.append(s + (summed + noise) / self.denominator)
        return out

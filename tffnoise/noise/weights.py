"""Weight perturbation (paper 1, Algorithm 1): f ← f + εₜψ for every learner, independently.

The unit draws ψ and their scale εₜ are kept apart: `sync_draws` / `step_draws` are what the engines
scale, and the test hook through which tests/reference (an independent NumPy Algorithm 1) takes the
engine's random numbers while applying its own schedule."""
from __future__ import annotations

import tensorflow as tf

from tffnoise.noise import distributions, rng, schedules
from tffnoise.noise.base import Mechanism


def unit_draws(keys, shapes, distribution: str, stream: str, counter):
    """Unit-level ψ per tensor, shape keys.shape + shape; tensor j of learner k draws from
    fold(keys[k], stream, counter, j)."""
    base = rng.fold_all(keys, rng.STREAMS[stream], counter)
    return [distributions.standard(distribution, rng.fold(base, j), shape) for j, shape in enumerate(shapes)]


def sync_draws(distribution: str, keys, shapes, round_t):
    """ψ of the weight noise added at the start of round `round_t` (init and sync schedules)."""
    return unit_draws(keys, shapes, distribution, "weights", round_t)


def step_draws(distribution: str, keys, shapes, step_t):
    """ψ of the weight noise added before global step `step_t` (step schedule)."""
    return unit_draws(keys, shapes, distribution, "weights_step", step_t)


def perturb(params, keys, scale, distribution: str, stream: str = "weights", counter=0):
    """Add scale·ψ to each tensor (ψ from `unit_draws`). `params` tensors carry the learners' leading
    axes, matching `keys`' shape (none in the TFF engine); `scale` is a scalar."""
    return _add(params, unit_draws(keys, _shapes(params, keys), distribution, stream, counter), scale)


def _shapes(params, keys):
    return [p.shape[len(keys.shape):] for p in params]


def _add(params, draws, scale):
    scale = tf.cast(scale, tf.float32)
    return [p + tf.cast(scale * d, p.dtype) for p, d in zip(params, draws)]


class WeightNoise(Mechanism):
    where = "model weights of every learner (at init, after every sync, or before every step)"
    paper = "paper 1 (Algorithm 1); paper 2 (weights)"

    def on_round_start(self, params, keys, round_t, level):
        if self.spec.schedule == "step" or self.spec.level == 0:
            return params
        scale = schedules.sync_scale(self.spec, round_t, level)
        return _add(params, sync_draws(self.spec.distribution, keys, _shapes(params, keys), round_t), scale)

    def on_step_params(self, params, keys, step_t, level):
        if self.spec.schedule != "step" or self.spec.level == 0:
            return params
        scale = schedules.step_scale(self.spec, step_t, level)
        return _add(params, step_draws(self.spec.distribution, keys, _shapes(params, keys), step_t), scale)

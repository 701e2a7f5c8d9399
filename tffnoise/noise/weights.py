"""Weight perturbation (paper 1, Algorithm 1): f ← f + εₜψ for every learner, independently."""
from __future__ import annotations

import tensorflow as tf

from tffnoise.noise import distributions, rng, schedules
from tffnoise.noise.base import Mechanism


def perturb(params, keys, scale, distribution: str, stream: str = "weights", counter=0):
    """Add scale·ψ to each tensor; tensor j of learner k draws from fold(keys[k], stream, counter, j).

    `params` tensors carry the learners' leading axes, matching `keys`' shape (none in the TFF engine).
    """
    base = rng.fold_all(keys, rng.STREAMS[stream], counter)
    out = []
    for j, p in enumerate(params):
        value_shape = p.shape[len(keys.shape):]
        noise = distributions.sample(distribution, rng.fold(base, j), value_shape, scale * tf.ones_like(keys, tf.float32))
        out.append(p + tf.cast(noise, p.dtype))
    return out


class WeightNoise(Mechanism):
    where = "model weights of every learner (at init, after every sync, or before every step)"
    paper = "paper 1 (Algorithm 1); paper 2 (weights)"

    def on_round_start(self, params, keys, round_t):
        if self.spec.schedule == "step" or self.spec.level == 0:
            return params
        scale = schedules.sync_scale(self.spec, round_t, self.level)
        return perturb(params, keys, scale, self.spec.distribution, "weights", round_t)

    def on_step_params(self, params, keys, step_t):
        if self.spec.schedule != "step" or self.spec.level == 0:
            return params
        scale = schedules.step_scale(self.spec, step_t, self.level)
        return perturb(params, keys, scale, self.spec.distribution, "weights_step", step_t)

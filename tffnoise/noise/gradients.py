"""Gradient noise: g ← g + σₜψ before the update, annealed σₜ = ε/(1+t)^(γ/2) (Neelakantan et al.)
or constant. Acts as an optimizer wrapper in both engines: the loop calls it between the gradient and
the SGD step."""
from __future__ import annotations

from tffnoise.noise import schedules
from tffnoise.noise.base import Mechanism
from tffnoise.noise.weights import perturb


class GradientNoise(Mechanism):
    where = "gradients before each local SGD update"
    paper = "paper 2 (gradients)"

    def on_gradients(self, grads, keys, step_t, level):
        if self.spec.level == 0:
            return grads
        scale = schedules.step_scale(self.spec, step_t, level)
        return perturb(grads, keys, scale, self.spec.distribution, "gradient", step_t)

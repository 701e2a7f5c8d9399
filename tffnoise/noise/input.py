"""Input noise (paper 2): the model builder puts one noise layer (`layers.AdditiveNoise`) on the model
input, so every training batch is perturbed inside the forward pass with its own keyed draws."""
from __future__ import annotations

from tffnoise.noise.base import Mechanism


class InputNoise(Mechanism):
    where = "model input, every training batch (a Keras layer)"
    paper = "paper 2 (input)"

    def layer_kwargs(self):
        return {"distribution": self.spec.distribution, "level": self.spec.level, "stream": "input"}

"""Input and hidden-layer noise (paper 2): mechanisms that ask the model builder for noise layers.

The layers themselves (`AdditiveNoise`) live in layers.py; the builder places an input noise layer on
the model input and a hidden noise layer before every hidden block (noise → batch norm → conv for the
CNNs, after each hidden activation for MLPs), each with its own seed."""
from __future__ import annotations

from tffnoise.noise.base import Mechanism


class InputNoise(Mechanism):
    where = "model input, every training batch (a Keras layer)"
    paper = "paper 2 (input)"

    def layer_kwargs(self):
        return {"distribution": self.spec.distribution, "level": self.spec.level, "stream": "input"}


class HiddenNoise(Mechanism):
    where = "hidden activations, every training batch (Keras layers before each block)"
    paper = "paper 2 (hidden layers)"

    def layer_kwargs(self):
        return {"distribution": self.spec.distribution, "level": self.spec.level, "stream": "hidden"}

"""Hidden-layer noise (paper 2): the model builder places a noise layer (`layers.AdditiveNoise`) before
every hidden block (noise → batch norm → conv for the CNNs, after each hidden activation for MLPs), each
with its own seed, so the layers' noise is uncorrelated."""
from __future__ import annotations

from tffnoise.noise.base import Mechanism


class HiddenNoise(Mechanism):
    where = "hidden activations, every training batch (Keras layers before each block)"
    paper = "paper 2 (hidden layers)"

    def layer_kwargs(self):
        return {"distribution": self.spec.distribution, "level": self.spec.level, "stream": "hidden"}

"""Keras noise layers for paper 2's input and hidden-layer mechanisms, and a seeded dropout.

Each layer has its own seed so that noise layers are uncorrelated (paper 2), is active only with
`training=True`, validates its arguments and returns every argument from `get_config`. Draws come from
the counter-based generator keyed by (step key, layer seed), so the stacked engine reproduces them.
"""
from __future__ import annotations

import tensorflow as tf

from tffnoise.noise import distributions, rng
from tffnoise.noise.context import current_key


def _key(seed: int, stream: str):
    key = current_key()
    if key is None:  # outside tffnoise's loops: a fresh stateful draw per call
        key = tf.random.uniform((), maxval=2**31 - 1, dtype=tf.int64)
    return rng.fold_all(key, rng.STREAMS[stream], seed)


@tf.keras.utils.register_keras_serializable(package="tffnoise")
class AdditiveNoise(tf.keras.layers.Layer):
    """x + level·ψ during training; identity at inference."""

    def __init__(self, distribution: str = "gaussian", level: float = 0.1, seed: int = 0, stream: str = "hidden", **kwargs):
        super().__init__(**kwargs)
        if distribution not in distributions.NAMES:
            raise ValueError(f"distribution={distribution!r}; expected one of {', '.join(distributions.NAMES)}")
        if not (isinstance(level, (int, float)) and level >= 0):
            raise ValueError(f"level={level!r}; expected a number ≥ 0")
        if stream not in ("input", "hidden"):
            raise ValueError(f"stream={stream!r}; expected 'input' or 'hidden'")
        self.distribution, self.level, self.seed, self.stream = distribution, float(level), int(seed), stream
        self.supports_masking = True

    def call(self, inputs, training=None):
        if not training or self.level == 0:
            return inputs
        z = distributions.standard(self.distribution, _key(self.seed, self.stream), tf.shape(inputs))
        return inputs + tf.cast(self.level * z, inputs.dtype)

    def get_config(self):
        return {**super().get_config(), "distribution": self.distribution, "level": self.level,
                "seed": self.seed, "stream": self.stream}


@tf.keras.utils.register_keras_serializable(package="tffnoise")
class SeededDropout(tf.keras.layers.Layer):
    """Inverted dropout drawing from the same keyed generator, so both engines drop the same units."""

    def __init__(self, rate: float = 0.5, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        if not (isinstance(rate, (int, float)) and 0 <= rate < 1):
            raise ValueError(f"rate={rate!r}; expected 0 ≤ rate < 1")
        self.rate, self.seed = float(rate), int(seed)

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        key = _key(self.seed, "dropout")
        u = rng.uniform01(key, tf.size(inputs, out_type=tf.int64))
        keep = tf.reshape(u >= self.rate, tf.shape(inputs))
        return tf.where(keep, inputs / (1.0 - self.rate), tf.zeros_like(inputs))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}

"""Label noise: each training label flips to a different class with probability p = level
(classification), or gets additive zero-mean noise (regression targets such as paper 1's ±1)."""
from __future__ import annotations

import tensorflow as tf

from tffnoise.noise import distributions, rng
from tffnoise.noise.base import Mechanism


def flip_labels(y, keys, step_t, p: float, num_classes: int):
    """y: int labels with the keys' leading axes then the batch axis."""
    batch = tf.shape(y)[-1]
    k = rng.fold_all(keys, rng.STREAMS["label"], step_t)
    u = rng.uniform01(k, batch)
    shift = 1 + tf.cast(tf.floor(rng.uniform01(k, batch, offset=batch) * (num_classes - 1)), y.dtype)
    flipped = tf.math.floormod(y + shift, num_classes)
    return tf.where(u < p, flipped, y)


def noisy_targets(y, keys, step_t, level: float, distribution: str):
    k = rng.fold_all(keys, rng.STREAMS["label_value"], step_t)
    noise = distributions.sample(distribution, k, tf.shape(y)[len(keys.shape):], level * tf.ones_like(keys, tf.float32))
    return y + tf.cast(noise, y.dtype)


class LabelNoise(Mechanism):
    where = "training labels (flip with probability p) or regression targets (additive)"
    paper = "paper 2 (labels)"

    def on_labels(self, y, keys, step_t, num_classes: int, level):
        if self.spec.level == 0:
            return y
        if num_classes > 0 and y.dtype.is_integer:
            return flip_labels(y, keys, step_t, level, num_classes)
        return noisy_targets(y, keys, step_t, level, self.spec.distribution)

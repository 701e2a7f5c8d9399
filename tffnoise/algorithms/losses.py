"""Losses and accuracy shared by both engines, on the model's final activations.

- crossentropy: −log p[y] (probabilities clipped at 1e-7 as Keras does), mean over the batch.
- squared: paper 1's Σⱼ ½(f(xⱼ) − yⱼ)², summed over the batch (its Eq. 1), so η means what it means there.
- mse: mean of (f − y)² (Keras' MSE: the same step as 'squared' at η·B/2).
"""
from __future__ import annotations

import tensorflow as tf

EPS = 1e-7


def resolve(kind: str, output: str) -> str:
    if kind != "auto":
        return kind
    return "crossentropy" if output == "softmax" else "squared"


def per_example(kind: str, outputs, y):
    """outputs: [..., B, C] probabilities or [..., B, 1] values; y: [..., B]."""
    if kind == "crossentropy":
        p = tf.clip_by_value(outputs, EPS, 1.0 - EPS)
        picked = tf.reduce_sum(tf.one_hot(tf.cast(y, tf.int32), tf.shape(outputs)[-1], dtype=p.dtype) * p, axis=-1)
        return -tf.math.log(picked)
    f = outputs[..., 0]
    d = f - tf.cast(y, f.dtype)
    return 0.5 * d * d if kind == "squared" else d * d


def batch_loss(kind: str, per_ex):
    return tf.reduce_sum(per_ex, -1) if kind == "squared" else tf.reduce_mean(per_ex, -1)


def correct(outputs, y, regression: bool):
    if regression:
        return tf.cast(tf.equal(outputs[..., 0] > 0, tf.cast(y, tf.float32) > 0), tf.float32)
    return tf.cast(tf.equal(tf.argmax(outputs, -1, output_type=tf.int32), tf.cast(y, tf.int32)), tf.float32)

"""Zero-mean noise distributions, parameterized by the level ε.

- uniform: ε·U[−½, ½] (paper 1: ψ ~ U[−0.5, 0.5] scaled by ε); std ε/√12.
- gaussian: N(0, ε²) (paper 2: standard deviation = level).
- gaussian-matched: N(0, ε²/12), a Gaussian with the uniform's variance: our reading of paper 1's
  "Gaussian noise in the same range".
- laplace: Laplace with standard deviation ε (scale ε/√2).
Each draw is a pure function of (key, shape): the same key gives the same noise.
"""
from __future__ import annotations

import math

import tensorflow as tf

from tffnoise.noise import rng

NAMES = ("uniform", "gaussian", "gaussian-matched", "laplace")

# The standard deviation of each distribution at level 1; tests check draws against it.
STD_AT_LEVEL_1 = {"uniform": 1 / math.sqrt(12), "gaussian": 1.0, "gaussian-matched": 1 / math.sqrt(12),
                  "laplace": 1.0}


def standard(distribution: str, key, shape):
    """Unit-level draws of shape key.shape + shape (shape may be dynamic, e.g. a batch)."""
    shape = tf.cast(shape, tf.int32) if tf.is_tensor(shape) else tf.constant([int(d) for d in shape], tf.int32)
    n = tf.cast(tf.reduce_prod(shape), tf.int64)
    key = tf.cast(key, tf.int64)
    out_shape = tf.concat([tf.shape(key, out_type=tf.int32), shape], 0)
    if distribution == "uniform":
        flat = rng.uniform01(key, n) - 0.5
    elif distribution in ("gaussian", "gaussian-matched"):
        u1 = rng.uniform01(key, n)
        u2 = rng.uniform01(key, n, offset=n)
        flat = tf.sqrt(-2.0 * tf.math.log(u1)) * cos_2pi(u2)
        if distribution == "gaussian-matched":
            flat = flat / math.sqrt(12.0)
    elif distribution == "laplace":
        u = rng.uniform01(key, n) - 0.5
        flat = -tf.sign(u) * tf.math.log1p(-2.0 * tf.abs(u)) / math.sqrt(2.0)
    else:
        raise ValueError(f"unknown distribution {distribution!r}; expected one of {', '.join(NAMES)}")
    return tf.reshape(flat, out_shape)


# cos x = Σ (−1)^k x^2k / (2k)!, k ≤ 6: on |x| ≤ π/2 the first term left out (x¹⁴/14!) is below 6.5e-9,
# a tenth of float32's resolution at 1 (6e-8), so the error is float32 rounding in the sum.
_COS_TAYLOR = [(-1) ** k / math.factorial(2 * k) for k in range(7)]


def cos_2pi(u):
    """cos(2πu) in float32 by symmetry and a polynomial: XLA on a CPU calls a scalar cos per element
    (6 ns; the rest of a Gaussian draw took 5), this vectorizes. Within 3e-7 of the exact value
    (tests/noise checks the uniforms near every fold and a dense sweep between them). cos(2πu) is even
    and 1-periodic, and cos(2π(½ − w)) = −cos(2πw), so w = |u − round(u)| folded into [0, ¼] covers
    every u."""
    w = tf.abs(u - tf.round(u))   # [0, ½], exact in float32
    flip = w > 0.25
    w = tf.where(flip, 0.5 - w, w)
    x2 = tf.square((2.0 * math.pi) * w)
    p = tf.constant(_COS_TAYLOR[-1], tf.float32)
    for c in reversed(_COS_TAYLOR[:-1]):
        p = p * x2 + c
    return tf.where(flip, -p, p)


def sample(distribution: str, key, shape, level):
    """ε·ψ: draws scaled by the level (a float or a tensor broadcasting over key's axes)."""
    z = standard(distribution, key, shape)
    level = tf.cast(level, tf.float32)
    # Broadcast a per-key level over the value axes.
    rank = tf.size(shape) if tf.is_tensor(shape) else len(shape)
    level = tf.reshape(level, tf.concat([tf.shape(level), tf.ones([rank], tf.int32)], 0))
    return z * level


def dp_gaussian(key, shape, std):
    """N(0, std²) for differential privacy: drawn in float64 (rng.normal64, capped at ≈ 8.57σ), scaled
    by std in float64 and only then cast to float32. `sample("gaussian", ...)` stops near 5.8σ, which a
    DP guarantee cannot ignore (docs/privacy.md bounds the δ the remaining cap adds). std is a float or
    a tensor broadcasting over key's axes."""
    shape = tf.constant([int(d) for d in shape], tf.int32)
    key = tf.cast(key, tf.int64)
    flat = rng.normal64(key, tf.cast(tf.reduce_prod(shape), tf.int64))
    z = tf.reshape(flat, tf.concat([tf.shape(key, out_type=tf.int32), shape], 0))
    std = tf.cast(std, tf.float64)
    std = tf.reshape(std, tf.concat([tf.shape(std), tf.ones([tf.size(shape)], tf.int32)], 0))
    return tf.cast(z * std, tf.float32)

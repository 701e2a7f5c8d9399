"""Counter-based random numbers: value = hash(key, element index), in plain TF integer ops.

Why not tf.random.stateless_*: those take one seed per call, so noise for K stacked learners would be
K separate ops, and the TFF engine (one learner per client) and the stacked engine (all learners in
one tensor) would need different code to draw the same numbers. A hash of (key, index) broadcasts over
any leading axes and gives bit-identical draws in both engines. The mixer is Wellons' `lowbias32`.

TensorFlow runs it in uint32, whose products wrap mod 2**32 as the hash wants; NumPy runs it in int64
with masks (multipliers are below 2**31, so products of 32-bit values fit). The two give the same
integers (tests/noise/test_rng_uint32.py). The uint32 form is what the draws cost: the int64 one masked
every product, and x86 without AVX-512 has no vector 64-bit multiply: 20M uniforms 2.3x faster in the
graph runtime (the TFF engine, CNNs on a CPU), 1.2x under XLA (docs/performance.md, "Fourth pass").
"""
from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

M32 = 0xFFFFFFFF
_C1, _C2 = 0x21F0AAAD, 0x735A2D97
_GOLDEN = 0x9E3779B9

# Streams keep the draws of different purposes apart even with equal counters (one table, TF-free).
from tffnoise.noise.streams import STREAMS  # noqa: E402,F401


def _mix_np(x: np.ndarray) -> np.ndarray:
    x = x ^ (x >> 16)
    x = (x * _C1) & M32
    x = x ^ (x >> 15)
    x = (x * _C2) & M32
    return x ^ (x >> 15)


_U = tf.uint32


def _u32(v):
    """The low 32 bits of an integer tensor (or Python int) as uint32."""
    v = tf.convert_to_tensor(v)
    if v.dtype == _U:
        return v
    return tf.cast(tf.bitwise.bitwise_and(tf.cast(v, tf.int64), M32), _U)


def _shr(x, n: int):
    return tf.bitwise.right_shift(x, tf.constant(n, _U))


def _mix32(x):
    x = tf.bitwise.bitwise_xor(x, _shr(x, 16))
    x = x * tf.constant(_C1, _U)
    x = tf.bitwise.bitwise_xor(x, _shr(x, 15))
    x = x * tf.constant(_C2, _U)
    return tf.bitwise.bitwise_xor(x, _shr(x, 15))


def _fold32(key, value):
    return _mix32(tf.bitwise.bitwise_xor(_u32(key), _mix32(_u32(value) + tf.constant(_GOLDEN, _U))))


def fold(key, value):
    """A new key from a key and a counter (learner, layer, round, step, stream); broadcasts. int64."""
    return tf.cast(_fold32(key, value), tf.int64)


def fold_np(key, value) -> np.ndarray:
    """`fold` on NumPy int64 values (the same hash, run by NumPy): keys made before any tensor exists."""
    key = np.asarray(key, np.int64) & M32
    value = (np.asarray(value, np.int64) + _GOLDEN) & M32
    return _mix_np(key ^ _mix_np(value))


def run_key(seed: int, repeat: int) -> int:
    """The root key of one repeat of an experiment."""
    return int(fold_np(fold_np(int(seed) & M32, 0x5EED), int(repeat)))


def learner_keys(seed: int, repeats, learners: int) -> np.ndarray:
    """int64 [R, M]: learner i of repeat r draws from fold(run_key(seed, r), i)."""
    roots = np.array([run_key(seed, r) for r in repeats], np.int64).reshape(-1, 1)
    return fold_np(roots, np.arange(learners, dtype=np.int64)[None, :]).astype(np.int64)


def fold_all(key, *values):
    """fold(...fold(fold(key, v1), v2)..., vn), in uint32 throughout; int64."""
    key = _u32(key)
    for v in values:
        key = _fold32(key, v)
    return tf.cast(key, tf.int64)


def _bits32(key, n, offset=0):
    """Uniform 32-bit integers (uint32) of shape key.shape + [n]: hash(key, offset + i)."""
    key = tf.expand_dims(_u32(key), -1)
    offset = tf.cast(offset, tf.int64)
    idx = _u32(tf.range(offset, offset + tf.cast(n, tf.int64), dtype=tf.int64))
    return _fold32(key, idx)


def bits(key, n, offset=0):
    """Uniform 32-bit integers of shape key.shape + [n], as int64."""
    return tf.cast(_bits32(key, n, offset), tf.int64)


def uniform01(key, n, offset=0):
    """Uniform on the open interval (0, 1): odd multiples of 2**-24, exact in float32."""
    b = _shr(_bits32(key, n, offset), 9)
    return (tf.cast(b, tf.float32) * 2.0 + 1.0) * (2.0 ** -24)


# The smallest uniform `uniform53` can return: Box–Muller maps it (with cos θ = ±1) to the largest
# magnitude the float64 draw can reach, sqrt(2·53·ln 2) ≈ 8.57σ (tests check it is beyond 8σ).
UNIFORM53_MIN = 2.0 ** -53


def uniform53_from_bits(hi, lo):
    """(m + 1)·2**-53 for the 53-bit integer m = (hi >> 5)·2**26 + (lo >> 6): uniform on (0, 1], every
    value exact in float64, so the smallest is 2**-53 (23-bit float32 uniforms stop at 2**-24, ≈ 5.8σ)."""
    hi = tf.bitwise.right_shift(tf.cast(hi, tf.int64), 5)
    lo = tf.bitwise.right_shift(tf.cast(lo, tf.int64), 6)
    m = hi * (2 ** 26) + lo
    return (tf.cast(m, tf.float64) + 1.0) * UNIFORM53_MIN


def box_muller64(u1, u2):
    """(r·cos θ, r·sin θ) with r = sqrt(−2 ln u1), θ = 2π·u2, in float64."""
    r = tf.sqrt(-2.0 * tf.math.log(u1))
    theta = (2.0 * math.pi) * u2
    return r * tf.cos(theta), r * tf.sin(theta)


def normal64(key, n):
    """Standard normals in float64 of shape key.shape + [n], for DP noise: each pair from two 53-bit
    uniforms (four 32-bit hashes), so the draw is capped at ≈ 8.57σ rather than ≈ 5.8σ."""
    n = tf.cast(n, tf.int64)
    half = (n + 1) // 2
    u1 = uniform53_from_bits(bits(key, half, 0), bits(key, half, half))
    u2 = uniform53_from_bits(bits(key, half, 2 * half), bits(key, half, 3 * half))
    a, b = box_muller64(u1, u2)
    return tf.concat([a, b], -1)[..., :n]

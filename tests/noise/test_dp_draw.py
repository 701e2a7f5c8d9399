"""The float64 draw for DP noise (rng.normal64, distributions.dp_gaussian): its cap is beyond 8σ,
checked deterministically, and it is a standard normal (fixed keys; tolerances several standard errors)."""
import math

import numpy as np
import tensorflow as tf
from scipy.special import ndtr

from tffnoise.noise import distributions, rng

N = 200_000


def test_the_smallest_uniform_maps_beyond_8_sigma():
    lo = rng.uniform53_from_bits(tf.constant([0, 2**32 - 1], tf.int64), tf.constant([0, 2**32 - 1], tf.int64)).numpy()
    assert lo[0] == rng.UNIFORM53_MIN == 2.0 ** -53  # all-zero hashes give the smallest value, never 0
    assert lo[1] == 1.0                                # all-one hashes give the largest, 1 (radius 0)
    cos_arm, _ = rng.box_muller64(tf.constant(rng.UNIFORM53_MIN, tf.float64), tf.constant(1.0, tf.float64))
    _, sin_arm = rng.box_muller64(tf.constant(rng.UNIFORM53_MIN, tf.float64), tf.constant(0.75, tf.float64))
    assert float(cos_arm) > 8.0 and float(sin_arm) < -8.0
    assert abs(float(cos_arm) - math.sqrt(2 * 53 * math.log(2))) < 1e-9


def test_normal64_is_box_muller_on_53_bit_uniforms():
    """The chain the cap rests on: normal64 draws its radius from uniform53_from_bits of the key's hashes."""
    key = tf.constant(77, tf.int64)
    u1 = rng.uniform53_from_bits(rng.bits(key, 3, 0), rng.bits(key, 3, 3))
    u2 = rng.uniform53_from_bits(rng.bits(key, 3, 6), rng.bits(key, 3, 9))
    a, b = rng.box_muller64(u1, u2)
    assert np.array_equal(rng.normal64(key, 6).numpy(), np.concatenate([a.numpy(), b.numpy()]))
    assert np.array_equal(rng.normal64(key, 5).numpy(), np.concatenate([a.numpy(), b.numpy()])[:5])


def test_uniforms_have_53_bits():
    bits_hi = rng.bits(tf.constant(11, tf.int64), 1000)
    bits_lo = rng.bits(tf.constant(11, tf.int64), 1000, offset=1000)
    u = rng.uniform53_from_bits(bits_hi, bits_lo).numpy()
    m = u * 2.0 ** 53
    assert np.array_equal(m, np.round(m)) and u.min() > 0 and u.max() <= 1
    assert (m % 2 == 1).mean() > 0.4  # the lowest bit is used (a 52-bit or 24-bit uniform would give 0 here)


def test_normal64_is_standard_normal():
    z = rng.normal64(tf.constant(2024, tf.int64), N).numpy()
    assert z.dtype == np.float64 and z.shape == (N,)
    assert abs(z.mean()) < 5 / math.sqrt(N) and abs(z.std() - 1) < 5 / math.sqrt(2 * N)
    ks = np.max(np.abs(np.arange(1, N + 1) / N - ndtr(np.sort(z))))
    assert ks < 1.63 / math.sqrt(N)  # Kolmogorov–Smirnov at the 1% level
    tail = (np.abs(z) > 3).mean()
    p = 2 * ndtr(-3)
    assert abs(tail - p) < 5 * math.sqrt(p / N)
    half = N // 2  # the cos and sin arms of the same pairs are independent
    assert abs(np.corrcoef(z[:half], z[half:])[0, 1]) < 5 / math.sqrt(half)


def test_dp_gaussian_scales_in_float64_then_casts_and_broadcasts_over_keys():
    keys = rng.fold(tf.constant(5, tf.int64), tf.range(3, dtype=tf.int64))
    std = tf.constant([0.5, 2.0, 1e-3])
    got = distributions.dp_gaussian(keys, [4, 5], std).numpy()
    assert got.dtype == np.float32 and got.shape == (3, 4, 5)
    for i in range(3):
        ref = (rng.normal64(keys[i], 20).numpy() * np.float64(std.numpy()[i])).astype(np.float32).reshape(4, 5)
        assert np.array_equal(got[i], ref)
    one = distributions.dp_gaussian(keys[1], [4, 5], 2.0).numpy()
    assert np.array_equal(one, got[1])  # a stacked draw equals the per-key draw (engine equality)

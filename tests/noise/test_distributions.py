"""Statistical checks with fixed keys; tolerances are several standard errors wide."""
import math

import numpy as np
import pytest
import tensorflow as tf

from tffnoise.noise import distributions, rng

N = 200_000


@pytest.mark.parametrize("dist", distributions.NAMES)
def test_zero_mean_and_spread(dist):
    level = 0.7
    x = distributions.sample(dist, tf.constant(12345, tf.int64), [N], level).numpy().astype(np.float64)
    std = distributions.STD_AT_LEVEL_1[dist] * level
    # mean within 5 standard errors; std within 2%
    assert abs(x.mean()) < 5 * std / math.sqrt(N)
    assert abs(x.std() / std - 1) < 0.02


def test_uniform_stays_in_range():
    x = distributions.sample("uniform", tf.constant(7, tf.int64), [N], 0.3).numpy()
    assert x.min() >= -0.15 and x.max() <= 0.15
    assert x.min() < -0.149 and x.max() > 0.149


def test_gaussian_tails_and_laplace_kurtosis():
    g = distributions.standard("gaussian", tf.constant(3, tf.int64), [N]).numpy()
    assert abs((np.abs(g) > 1.96).mean() - 0.05) < 0.005
    lap = distributions.standard("laplace", tf.constant(3, tf.int64), [N]).numpy()
    kurt = ((lap - lap.mean()) ** 4).mean() / lap.var() ** 2
    assert 5.0 < kurt < 7.0  # Laplace kurtosis is 6


def test_level_zero_is_exactly_zero_and_keys_reproduce():
    k = tf.constant(99, tf.int64)
    assert not np.any(distributions.sample("gaussian", k, [1000], 0.0).numpy())
    a = distributions.sample("uniform", k, [1000], 1.0).numpy()
    b = distributions.sample("uniform", k, [1000], 1.0).numpy()
    assert np.array_equal(a, b)


def test_independent_across_keys():
    keys = rng.fold(tf.constant(5, tf.int64), tf.range(64, dtype=tf.int64))
    z = distributions.standard("gaussian", keys, [5000]).numpy()
    c = np.corrcoef(z)
    off = c[~np.eye(64, dtype=bool)]
    assert np.abs(off).max() < 5 / math.sqrt(5000)
    # a stacked draw equals the per-key draws (what makes the two engines agree)
    single = distributions.standard("gaussian", keys[3], [5000]).numpy()
    assert np.array_equal(single, z[3])


def test_numpy_and_tf_fold_agree():
    for key, value in [(0, 0), (12345, 7), (2**32 - 1, 99), (42, 2**31)]:
        assert int(rng.fold_np(key, value)) == int(rng.fold(tf.constant(key, tf.int64), tf.constant(value, tf.int64)))


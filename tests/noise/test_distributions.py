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



def test_cos_2pi_is_within_3e7_of_the_exact_cosine_everywhere():
    """The Gaussian's cos(2πu) (a folded polynomial, distributions.cos_2pi) against float64 NumPy on
    every uniform the generator can return near the folds (0, ¼, ½, ¾, 1) and a dense sweep between.
    Deliberate errors tried: dropping the sign flip past ¼, or the x¹² term, each fail here."""
    step = 2.0 ** -24  # uniform01 returns odd multiples of 2**-24
    edges = np.concatenate([np.arange(1, 20001, 2) * step + c for c in (0.0, 0.25 - 1e-3, 0.5 - 1e-3, 0.75 - 1e-3, 1 - 1.2e-3)])
    u = np.concatenate([edges, (np.arange(1, 2**24, 2 * 37) * step)]).astype(np.float32)
    u = u[(u > 0) & (u < 1)]
    got = distributions.cos_2pi(tf.constant(u)).numpy().astype(np.float64)
    err = np.abs(got - np.cos(2 * np.pi * u.astype(np.float64)))
    assert err.max() < 3e-7, (err.max(), u[err.argmax()])

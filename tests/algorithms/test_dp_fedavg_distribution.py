"""The stacked engine's batched DP-FedAvg aggregation against TFF's stock DP aggregator, distributionally.

The stacked engine aggregates a round of DP-FedAvg itself (`dp.DpFedAvg.private_mean`, noise from the
project's keyed float64 generator); the TFF engine uses TFF's `DifferentiallyPrivateFactory` with the
same keyed noise. The equality of the two engines therefore shares the noise code; this module compares
the stacked aggregation with TFF's *stock* `DifferentiallyPrivateFactory.gaussian_fixed(noise_multiplier=z,
clients_per_round=k, clip=C)` (tensorflow-privacy's own float32 noise), which McMahan et al. (2017)
define as: clip each client's update to global L2 norm C, sum, add N(0, (zC)²) per coordinate, divide
by the fixed expected number of clients k (not by the round's count).

- z = 0 in both: the clipped mean equals (float32 rounding, rtol 1e-6), for updates far below, just
  below and far above C, with more clients in the round (4) than k = 3, so dividing by the count fails.
- z > 0: per coordinate, the noise (result minus the clipped mean) over many draws has mean 0 and
  variance (zC/k)²: a z-test of each coordinate's mean and a chi-square test of its sum of squares
  (Bonferroni over all coordinates and both tests, family-wise false-alarm rate 1e-4 per system), and
  pooled over all coordinates the variance ratio is 1 within 5 standard errors. A std off by √2 gives a
  chi-square ≈ 2n, far beyond its bound (n + 5.7·sqrt(2n) = 209 at n = 120). The stacked side is
  seeded (its keys); the TFF side cannot be: gaussian_fixed passes no seed to tensorflow-privacy's
  noise, and TF's global seed does not reach TFF's runtime (two processes with tf.random.set_seed(0)
  drew different noise), so its false-alarm rate is the 1e-4.

TFF's aggregator is built once per z per module (about 1 s each); each of its draws is one
`process.next` call (about 40 ms here): N_TFF = 120 draws. The stacked side draws R = 2000 at once
(one repeat axis, a key per repeat).
"""
from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy import stats

SHAPES = [(6, 4), (4,)]               # two tensors: the clip norm is the global norm over both
Z, C, K_EXPECTED = 1.5, 0.5, 3           # noise multiplier, clip, expected clients per round k
SCALES = (0.2, 3.0, 0.9, 10.0, 1.5)       # each client's update norm over C
SEL = np.array([1, 1, 1, 1, 0], np.float32)  # this round 4 of the 5 clients joined (4 ≠ k)
N_TFF, R_STACKED = 120, 2000
FAMILY_ALPHA = 1e-4
pytestmark = pytest.mark.slow


def stacked_private_mean(z, clip, k, clients, server, sel, repeat_keys, t=1):
    """The ONE call into engine code: `dp.DpFedAvg(privacy, problem).private_mean` on R repeats of M
    clients: clients[j] is [R·M, ...] (client models), server[j] [R, ...], sel [R, M]. The lead adapts
    this helper if the DP aggregation's signature changes in the engine rewrite."""
    import tensorflow as tf

    from tffnoise.algorithms import dp

    agg = dp.DpFedAvg(clip=clip, z=z, denominator=float(k))
    out = agg.private_mean([tf.constant(c) for c in clients], [tf.constant(s) for s in server],
                           tf.constant(sel), tf.constant(t, tf.int64), tf.constant(repeat_keys, tf.int64))
    return [o.numpy() for o in out]


@functools.lru_cache(maxsize=None)
def tff_aggregator(z: float):
    """TFF's stock gaussian_fixed DP aggregator over the update structure, and its initial state."""
    from tffnoise.algorithms.tff_process import ensure_execution_context

    ensure_execution_context()
    import tensorflow_federated as tff

    factory = tff.aggregators.DifferentiallyPrivateFactory.gaussian_fixed(
        noise_multiplier=z, clients_per_round=float(K_EXPECTED), clip=C)
    process = factory.create(tff.StructWithPythonType([tff.TensorType(np.float32, s) for s in SHAPES], list))
    return process, process.initialize()


def tff_mean(z, updates):
    """One draw of TFF's noisy mean update; an unselected client sends zeros (as the TFF engine does)."""
    process, state = tff_aggregator(z)
    out = process.next(state, [[u * s for u in upd] for upd, s in zip(updates, SEL)])
    return [np.asarray(o) for o in out.result]


@functools.lru_cache(maxsize=None)
def updates_and_server():
    """Client updates of global norm SCALES·C (the round's clients: two above the clip, two below),
    computed in float32 as the engine computes them: client model − server model."""
    rng = np.random.default_rng(3)
    server = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
    models = []
    for scale in SCALES:
        d = [rng.normal(size=s) for s in SHAPES]
        norm = np.sqrt(sum(np.sum(x ** 2) for x in d))
        models.append([(w + x * (scale * C / norm)).astype(np.float32) for w, x in zip(server, d)])
    updates = [[w - s for w, s in zip(mod, server)] for mod in models]
    return models, server, updates


def stacked_draws(z, R):
    """R repeats of the same round (each repeat its own key): the server's new model minus the old, [R, D]."""
    models, server, _ = updates_and_server()
    clients = [np.tile(np.stack([mod[j] for mod in models]), (R,) + (1,) * len(s)) for j, s in enumerate(SHAPES)]
    srv = [np.broadcast_to(s, (R,) + s.shape).copy() for s in server]
    out = stacked_private_mean(z, C, K_EXPECTED, clients, srv, np.tile(SEL, (R, 1)), np.arange(R) * 7919 + 5)
    return np.concatenate([(o - s[None]).reshape(R, -1) for o, s in zip(out, server)], 1)


def clipped_mean():
    """The definition, in float64: Σ over the round's clients of update·min(1, C/‖update‖), over k."""
    _, _, updates = updates_and_server()
    total = 0.0
    for upd, s in zip(updates, SEL):
        flat = np.concatenate([u.ravel() for u in upd]).astype(np.float64)
        total = total + s * flat * min(1.0, C / np.linalg.norm(flat))
    return total / K_EXPECTED


def test_the_updates_straddle_the_clip_norm():
    _, _, updates = updates_and_server()
    norms = [np.sqrt(sum(np.sum(u.astype(np.float64) ** 2) for u in upd)) / C for upd in updates]
    np.testing.assert_allclose(norms, SCALES, rtol=1e-5)


def test_clipped_mean_without_noise_equals_tffs():
    _, _, updates = updates_and_server()
    tff = np.concatenate([o.ravel() for o in tff_mean(0.0, updates)])
    stacked = stacked_draws(0.0, 2)
    np.testing.assert_allclose(tff, clipped_mean(), rtol=1e-5, atol=1e-7)  # TFF is the definition
    for r in range(2):
        np.testing.assert_allclose(stacked[r], tff, rtol=1e-6, atol=1e-7)


def assert_gaussian_noise(noise: np.ndarray, std: float, who: str):
    """noise [n, D]: every coordinate's n draws are N(0, std²) (Bonferroni over 2·D tests)."""
    n, D = noise.shape
    alpha = FAMILY_ALPHA / (2 * D)
    zq = stats.norm.ppf(1 - alpha / 2)
    means = noise.mean(0) / (std / np.sqrt(n))
    assert np.abs(means).max() < zq, (who, "mean", np.abs(means).max(), zq)
    chi = (noise ** 2).sum(0) / std ** 2   # the mean is known (0): chi-square with n degrees of freedom
    lo, hi = stats.chi2.ppf(alpha / 2, n), stats.chi2.ppf(1 - alpha / 2, n)
    assert lo < chi.min() and chi.max() < hi, (who, "chi-square", chi.min(), chi.max(), lo, hi)
    pooled = (noise ** 2).mean() / std ** 2
    assert abs(pooled - 1) < 5 * np.sqrt(2 / noise.size), (who, "pooled variance ratio", pooled)


def test_noise_per_coordinate_has_variance_zc_over_k_squared():
    _, _, updates = updates_and_server()
    mean = clipped_mean()
    std = Z * C / K_EXPECTED
    tff = np.stack([np.concatenate([o.ravel() for o in tff_mean(Z, updates)]) for _ in range(N_TFF)])
    assert_gaussian_noise(tff - mean, std, "TFF gaussian_fixed")
    assert_gaussian_noise(stacked_draws(Z, R_STACKED) - mean, std, "stacked DpFedAvg")


def test_the_test_rejects_a_std_off_by_sqrt2():
    """Not vacuous: noise √2 too large (or too small) fails, at the TFF side's sample size."""
    noise = np.random.default_rng(0).normal(size=(N_TFF, sum(int(np.prod(s)) for s in SHAPES)))
    assert_gaussian_noise(noise, 1.0, "exact")
    for factor in (np.sqrt(2), 1 / np.sqrt(2)):
        with pytest.raises(AssertionError, match="chi-square"):
            assert_gaussian_noise(noise * factor, 1.0, "off by sqrt 2")

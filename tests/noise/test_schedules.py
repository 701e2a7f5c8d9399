"""Paper 1's schedule: "decayed by a factor equal to the index number of the synchronization step".

Round t starts right after the (t−1)-th averaging, so with decay = "inverse" its noise has level ε/(t−1),
after ε at initialization (round 1). These values replace the old test's ε/t (noise after the k-th sync at
ε/(k+1), one sync behind the paper).
"""
import numpy as np
import tensorflow as tf

from tffnoise.config import load_config
from tffnoise.config.schema import NoiseSpec
from tffnoise.noise import schedules
from tffnoise.noise.registry import build
from tffnoise.noise.weights import sync_draws

T = tf.range(1, 7, dtype=tf.int64)  # rounds 1..6


def test_sync_inverse_is_eps_over_sync_index():
    spec = NoiseSpec(level=0.5, schedule="sync", decay="inverse")
    # round 1: ε at init; round t ≥ 2: right after the (t−1)-th averaging, ε/(t−1)
    np.testing.assert_allclose(schedules.sync_scale(spec, T).numpy(), [0.5, 0.5, 0.25, 0.5 / 3, 0.125, 0.1], rtol=1e-6)


def test_anneal_uses_the_same_counter():
    spec = NoiseSpec(level=2.0, schedule="sync", decay="anneal", gamma=0.55)
    k = np.arange(0, 6)
    np.testing.assert_allclose(schedules.sync_scale(spec, T).numpy(), 2.0 * (1 + k) ** -0.275, rtol=1e-6)


def test_init_none_and_step():
    for decay in ("none", "inverse", "anneal"):  # initialization noise is ε whatever the decay (k = 0)
        init = NoiseSpec(level=2.0, schedule="init", decay=decay)
        np.testing.assert_allclose(schedules.sync_scale(init, T).numpy(), [2, 0, 0, 0, 0, 0])
    const = NoiseSpec(level=2.0, schedule="sync", decay="none")
    np.testing.assert_allclose(schedules.sync_scale(const, T).numpy(), [2] * 6)
    # step: the counter is the global step g the noise precedes (1-based): ε/g, ε·(1+g)^(−γ/2)
    step = NoiseSpec(level=1.0, schedule="step", decay="anneal", gamma=0.55)
    np.testing.assert_allclose(schedules.step_scale(step, T).numpy(), (1 + np.arange(1, 7)) ** -0.275, rtol=1e-6)
    inv = NoiseSpec(level=1.0, schedule="step", decay="inverse")
    np.testing.assert_allclose(schedules.step_scale(inv, T).numpy(), 1 / np.arange(1, 7), rtol=1e-6)
    assert not schedules.sync_scale(step, T).numpy().any()


def test_record_is_the_level_the_mechanism_applies():
    """The per-round `noise` record equals the scale of what on_round_start adds (measured on zero
    weights against the unit draws), round by round."""
    cfg = load_config(None, ["noise.weights.level=0.5", "noise.weights.distribution=uniform",
                             "noise.weights.schedule=sync", "noise.weights.decay=inverse"])
    mech = build(cfg.noise)[0]
    keys = tf.constant([3, 4], tf.int64)
    records = []
    for t in range(1, 6):
        rec = schedules.applied([mech], t, steps_per_round=2)["weights"]["scale"]
        out = mech.on_round_start([tf.zeros([2, 7])], keys, tf.constant(t, tf.int64), 0.5)[0].numpy()
        z = sync_draws("uniform", keys, [(7,)], tf.constant(t, tf.int64))[0].numpy()
        np.testing.assert_allclose(out, rec * z, rtol=1e-6)
        records.append(rec)
    np.testing.assert_allclose(records, [0.5, 0.5, 0.25, 0.5 / 3, 0.125], rtol=1e-6)

"""DP-SGD's clipping matches tensorflow-privacy's optimizer; noise has the documented scale; DP runs
report ε and membership-inference numbers."""
import numpy as np
import pytest
import tensorflow as tf

from tffnoise.algorithms import keys as keylib
from tffnoise.algorithms.problem import prepare
from tffnoise.algorithms.stacked import StackedEngine
from tffnoise.config import load_config

TINY = ["data.clients=1", "data.examples_per_client=40", "model.hidden=[6]", "training.batch_size=8",
        "training.sync_period=1", "training.rounds=2", "experiment.repeats=1", "training.protocol=serial"]


def _engine(extra):
    cfg = load_config(None, TINY + extra)
    return StackedEngine(prepare(cfg, [0]))


def _batch(eng):
    idx = eng.order[:, 0]
    return tf.gather(eng.x, idx, batch_dims=1), tf.gather(eng.y, idx, batch_dims=1)


def _private_gradients(eng, params, x, y, g=1):
    """DP-SGD's gradients of step g as the stacked round computes them (the adapter's microbatch
    gradients through DpSgd.noised), at the engine's own levels."""
    from tffnoise.algorithms.model_adapters import StackedLearners

    g = tf.constant(g, tf.int64)
    sk = keylib.step_keys(eng.keys, g)
    levels = {k: v for k, v in eng._hyper()["levels"].items()}
    learners = StackedLearners(eng.plan, eng.p.loss_kind, len(params))
    per_mb = learners.microbatch_grads(params, x, y, sk, eng.dp_sgd.mb, levels)
    return eng.dp_sgd.noised(per_mb, params, eng.keys, g)


@pytest.mark.parametrize("microbatches", [8, 4])
def test_clipping_matches_tensorflow_privacy(microbatches):
    from tensorflow_privacy import DPKerasSGDOptimizer

    eng = _engine(["privacy.mode=dp-sgd", "privacy.noise_multiplier=0.0", "privacy.l2_norm_clip=0.05",
                   f"privacy.microbatches={microbatches}"])
    x, y = _batch(eng)
    params = eng.params
    ours = _private_gradients(eng, params, x, y)

    model = eng.p.model_fn(0)
    model.set_weights([w.numpy()[0] for w in params])
    opt = DPKerasSGDOptimizer(l2_norm_clip=0.05, noise_multiplier=0.0, num_microbatches=microbatches, learning_rate=0.1)
    with tf.GradientTape(persistent=True) as tape:
        probs = model(x[0], training=False)
        loss = tf.keras.losses.sparse_categorical_crossentropy(y[0], probs)
    grads_and_vars = opt._compute_gradients(loss, model.trainable_variables, tape=tape)
    for (g_ref, _), g in zip(grads_and_vars, ours):
        np.testing.assert_allclose(g.numpy()[0], g_ref.numpy(), rtol=2e-4, atol=1e-6)


def test_noise_scale_is_z_times_clip_over_microbatches():
    eng = _engine(["privacy.mode=dp-sgd", "privacy.noise_multiplier=2.0", "privacy.l2_norm_clip=1e-6",
                   "privacy.microbatches=4", "model.hidden=[200]"])
    x, y = _batch(eng)
    g = _private_gradients(eng, eng.params, x, y)[0].numpy().ravel()
    expected = 2.0 * 1e-6 / 4
    assert abs(g.std() / expected - 1) < 0.05 and abs(g.mean()) < 4 * expected / np.sqrt(g.size)


def test_dp_runs_record_epsilon_and_attack(tmp_path):
    from tffnoise.runner.privacy_eval import epsilon_curve, membership_inference

    for mode in ("dp-sgd", "dp-fedavg"):
        cfg = load_config(None, ["data.clients=3", "data.examples_per_client=40", "model.hidden=[8]", "training.batch_size=8",
                                 "training.sync_period=2", "training.rounds=3", f"privacy.mode={mode}"])
        p = prepare(cfg, [0])
        eng = StackedEngine(p)
        for _ in range(p.rounds):
            eng.run_round()
        eps = epsilon_curve(p, eng)
        assert len(eps) == 3 and eps[0] <= eps[1] <= eps[2] and eps[0] < eps[2]  # shuffle: flat within an epoch
        mia = membership_inference(p, eng)[0]
        assert 0 <= mia["mia_auc"] <= 1 and mia["mia_examples"] > 0


def test_target_epsilon_picks_the_noise_multiplier():
    from tffnoise.runner.privacy_eval import epsilon_curve

    cfg = load_config(None, ["data.clients=2", "data.examples_per_client=40", "model.hidden=[4]", "training.batch_size=8",
                             "training.sync_period=2", "training.rounds=5", "privacy.mode=dp-sgd", "privacy.target_epsilon=3.0"])
    p = prepare(cfg, [0])
    eng = StackedEngine(p)
    assert abs(epsilon_curve(p, eng)[-1] - 3.0) < 0.05


def _run(extra, rounds=2):
    eng = _engine(extra)
    for _ in range(rounds):
        eng.run_round()
    return eng.get_state()


def test_dp_sgd_cells_train_at_their_own_input_level():
    """Issue 17 item 2: cells that share one compiled round (levels are runtime inputs) each train at
    their own input-noise level: level 0.9 after 0.3 equals a fresh engine's 0.9, and differs from 0.3."""
    from tffnoise.algorithms import round_program

    dp = ["privacy.mode=dp-sgd", "privacy.noise_multiplier=0.5", "privacy.l2_norm_clip=0.5",
          'noise.input.distribution="gaussian"']
    low = _run(dp + ["noise.input.level=0.3"])
    high_after_low = _run(dp + ["noise.input.level=0.9"])
    round_program._COMPILED.clear()
    high_fresh = _run(dp + ["noise.input.level=0.9"])
    for k in high_fresh:
        np.testing.assert_array_equal(high_after_low[k], high_fresh[k], err_msg=k)
    assert not np.allclose(low["params_0"], high_fresh["params_0"], atol=1e-4)


def _microbatch_outputs(monkeypatch, extra):
    """The per-microbatch model outputs of one DP-SGD step on a batch of 8 identical examples."""
    from tffnoise.algorithms import model_adapters

    eng = _engine(["privacy.mode=dp-sgd", "privacy.noise_multiplier=0.0", "privacy.microbatches=4"] + extra)
    x, y = _batch(eng)
    x, y = tf.repeat(x[:, :1], 8, axis=1), tf.repeat(y[:, :1], 8, axis=1)
    seen, real = [], model_adapters.forward

    def recording(*args):
        out = real(*args)
        seen.append(out.numpy())
        return out

    monkeypatch.setattr(model_adapters, "forward", recording)
    _private_gradients(eng, eng.params, x, y)
    (out,) = seen
    return out  # [K·mb, B/mb, classes], K = 1


@pytest.mark.parametrize("extra", [["model.dropout=0.5"], ['noise.hidden.distribution="gaussian"', "noise.hidden.level=1.0"],
                                   ['noise.input.distribution="uniform"', "noise.input.level=2.0"]],
                         ids=["dropout", "hidden", "input"])
def test_dp_sgd_microbatches_draw_their_own_masks(monkeypatch, extra):
    """Issue 17 item 3: the same example in every position, so only the masks can tell microbatches
    apart; with one key shared by all microbatches their outputs were identical."""
    out = _microbatch_outputs(monkeypatch, extra)
    assert out.shape[0] == 4
    for i in range(4):
        for j in range(i):
            assert not np.allclose(out[i], out[j], atol=1e-6), (i, j)
    # within a microbatch the two positions draw different masks too (positions are part of the count)
    assert not np.allclose(out[0, 0], out[0, 1], atol=1e-6)


def test_dp_sgd_refuses_batch_norm():
    """Issue 17 item 5: DP-SGD with a batch-norm model is a config error naming both fields (built-in
    CNNs at validation, a plug-in's model when DP-SGD is set up)."""
    from tffnoise.algorithms.dp import refuse_batch_norm
    from tffnoise.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        load_config(None, ["privacy.mode=dp-sgd", 'model.architecture="cnn-small"', 'engine="tff"'])
    assert "privacy.mode" in str(err.value) and "model.architecture" in str(err.value)
    load_config(None, ['privacy.mode="dp-fedavg"', 'model.architecture="cnn-small"', 'engine="tff"'])  # still allowed
    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.BatchNormalization(), tf.keras.layers.Dense(2)])
    with pytest.raises(ConfigError) as err:
        refuse_batch_norm(model, "pkg.mod:build")
    assert "privacy.mode" in str(err.value) and "model.builder" in str(err.value)
    refuse_batch_norm(tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(2)]))
    # DpSgd (both engines build theirs from it) checks a plug-in's model
    from types import SimpleNamespace

    from tffnoise.algorithms.dp import DpSgd

    cfg = load_config(None, TINY + ["privacy.mode=dp-sgd"])
    cfg.model.builder = "pkg.mod:build"
    with pytest.raises(ConfigError, match="model.builder"):
        DpSgd.for_problem(cfg.privacy, SimpleNamespace(cfg=cfg, model_fn=lambda seed: model, loss_kind="crossentropy"))


def test_microbatches_of_several_examples_are_accounted_at_doubled_sensitivity():
    """Issue 17 item 6: with B/mb > 1 examples per microbatch one example moves the sum by up to 2C, so
    ε is that of z/2 (tensorflow-privacy's used_microbatching); one example per microbatch keeps z."""
    from tffnoise.algorithms import dp
    from tffnoise.privacy.accounting import epsilon_per_round

    def eps(extra, z):
        cfg = load_config(None, TINY + ["privacy.mode=dp-sgd"] + extra)
        return dp.epsilons(cfg, prepare(cfg, [0]), z)

    ref = lambda z: epsilon_per_round(noise_multiplier=z, sample_rate=8 / 40, steps_per_round=1, rounds=2,  # noqa: E731
                                      delta=1e-5, sampling="shuffle")
    assert eps(["privacy.microbatches=8"], 2.0) == ref(2.0)
    assert eps(["privacy.microbatches=0"], 2.0) == ref(2.0)
    assert eps(["privacy.microbatches=4"], 2.0) == ref(1.0)
    cfg = load_config(None, TINY + ["privacy.mode=dp-sgd", "privacy.microbatches=2", "privacy.target_epsilon=5.0"])
    p = prepare(cfg, [0])
    z = dp.resolve_noise_multiplier(cfg, p)
    assert dp.epsilons(cfg, p, z)[-1] <= 5.0 < dp.epsilons(cfg, p, z * 0.9)[-1]


def test_dp_fedavg_divides_by_the_expected_clients_even_when_none_joined():
    """Issue 17 item 6: the noisy mean divides by the fixed k (Poisson sampling makes the count vary);
    a round nobody joined moves the server by the noise over k only (z = 0: not at all), never NaN."""
    cfg = load_config(None, ["data.clients=4", "data.examples_per_client=16", "model.hidden=[4]", "training.batch_size=8",
                             "training.sync_period=1", "training.rounds=1", 'training.protocol="fedavg"',
                             "training.clients_per_round=2", 'privacy.mode="dp-fedavg"', "privacy.l2_norm_clip=1e6"])
    eng = StackedEngine(prepare(cfg, [0]))
    server = eng.server
    params = [tf.repeat(s, 4, axis=0) + tf.cast(tf.reshape(tf.range(4), [4] + [1] * (len(s.shape) - 1)), tf.float32)
              for s in server]
    keys = eng.keys[:1]
    for z in (0.0, 1.0):
        eng.dp_fedavg.z = z
        sel = tf.constant([[1.0, 0.0, 1.0, 1.0]])
        out = eng.dp_fedavg.private_mean(params, server, sel, tf.constant(1, tf.int64), keys)
        if z == 0:  # learners 0, 2, 3 moved by 0, 2, 3: their sum over k = 2
            np.testing.assert_allclose(out[0].numpy() - server[0].numpy(), 2.5, rtol=1e-6)
        none = eng.dp_fedavg.private_mean(params, server, tf.zeros([1, 4]), tf.constant(1, tf.int64), keys)
        d = np.concatenate([(a - s).numpy().ravel() for a, s in zip(none, server)])
        assert np.all(np.isfinite(d))
        if z == 0:
            assert not np.any(d)
        else:
            # std z·C/k; a std estimate from n draws has relative standard error 1/sqrt(2n): 5 of them
            assert abs(d.std() / (z * 1e6 / 2) - 1) < 5 / np.sqrt(2 * d.size), d.size


def test_dp_sgd_noise_is_the_float64_draw():
    """DP-SGD's noise is distributions.dp_gaussian's (capped beyond 8σ), not the float32 sampler's: with
    C = 1e-9 and z = 1e9 the clipped sum (≤ C per microbatch) vanishes beside noise of std 1."""
    from tffnoise.noise import distributions, rng

    eng = _engine(["privacy.mode=dp-sgd", "privacy.noise_multiplier=1e9", "privacy.l2_norm_clip=1e-9",
                   "privacy.microbatches=4"])
    x, y = _batch(eng)
    g1 = tf.constant(1, tf.int64)
    got = _private_gradients(eng, eng.params, x, y)
    base = rng.fold_all(eng.keys, rng.STREAMS["dp"], g1)
    for j, g in enumerate(got):
        want = distributions.dp_gaussian(rng.fold(base, j), g.shape[1:], tf.ones([1])).numpy() / 4
        np.testing.assert_allclose(g.numpy(), want, rtol=1e-5, atol=1e-8)


def test_truncation_delta_is_the_documented_bound():
    """docs/privacy.md's example: 10^4 DP-SGD steps × 10^5 coordinates at ε = 3 add δ ≤ 1.2·10^-6."""
    from types import SimpleNamespace

    from tffnoise.algorithms.dp import truncation_delta

    cfg = SimpleNamespace(privacy=SimpleNamespace(mode="dp-sgd"))
    problem = SimpleNamespace(init_weights=[np.zeros((1, 1000, 99)), np.zeros((1, 1000))], rounds=1000, steps_per_round=10)
    d = truncation_delta(cfg, problem, 3.0)
    assert d == pytest.approx((1 + np.exp(3.0)) * 10**9 / 2 * 2.0**-53, rel=1e-12) and 1.1e-6 < d < 1.2e-6
    cfg.privacy.mode = "dp-fedavg"  # one release per round
    assert truncation_delta(cfg, problem, 3.0) == pytest.approx(d / 10, rel=1e-9)
    assert truncation_delta(cfg, problem, 400.0) == 1.0  # vacuous at a large ε: recorded as 1, not 1e170

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


@pytest.mark.parametrize("microbatches", [8, 4])
def test_clipping_matches_tensorflow_privacy(microbatches):
    from tensorflow_privacy import DPKerasSGDOptimizer

    eng = _engine(["privacy.mode=dp-sgd", "privacy.noise_multiplier=0.0", "privacy.l2_norm_clip=0.05",
                   f"privacy.microbatches={microbatches}"])
    x, y = _batch(eng)
    params = eng.params
    sk = keylib.step_keys(eng.keys, tf.constant(1, tf.int64))
    ours = eng.dp_sgd.private_gradients(eng.plan, params, x, y, sk, tf.constant(1, tf.int64), eng.keys)

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
    params = eng.params
    sk = keylib.step_keys(eng.keys, tf.constant(1, tf.int64))
    g = eng.dp_sgd.private_gradients(eng.plan, params, x, y, sk, tf.constant(1, tf.int64), eng.keys)[0].numpy().ravel()
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

"""The one client update (client_update.local_round) and its two model adapters.

- The stacked plan and the Keras model give the same outputs, losses, gradients and per-microbatch
  gradients on one learner (hidden noise and dropout on, same step key): what lets the TFF engine's
  client run the stacked engine's round with K = 1.
- The hooks run in the documented order with the level they are given, once per step.
- DpSgd.noised gives an untrained slot zeros and keeps tensor j's key.
Eager, tiny shapes (batch 4, hidden [5]): a few seconds."""
import numpy as np
import tensorflow as tf

from tffnoise.algorithms import keys as keylib
from tffnoise.algorithms.client_update import LocalWork, local_round
from tffnoise.algorithms.dp import DpSgd
from tffnoise.algorithms.model_adapters import KerasLearner, StackedLearners
from tffnoise.algorithms.plan import stack_plan
from tffnoise.algorithms.problem import prepare
from tffnoise.config import load_config
from tffnoise.noise.base import Mechanism

TINY = ["data.clients=1", "data.examples_per_client=12", "model.hidden=[5]", "training.batch_size=4",
        "training.sync_period=2", "training.rounds=1", "experiment.repeats=1", "training.protocol=serial",
        'noise.hidden.distribution="gaussian"', "noise.hidden.level=0.4", "model.dropout=0.3"]


def _setup():
    p = prepare(load_config(None, TINY), [0])
    model = p.model_fn(0)
    params = [tf.constant(w) for w in p.init_weights]  # [1, ...]: one learner
    x = tf.constant(p.x_clients[0, :, :4])
    y = tf.constant(p.y_clients[0, :, :4])
    sk = keylib.step_keys(tf.constant(p.learner_keys[0]), tf.constant(3, tf.int64))
    stacked = StackedLearners(stack_plan(model), p.loss_kind, len(params))
    keras = KerasLearner(model, p.loss_kind, [True] * len(params))
    return p, params, x, y, sk, stacked, keras


def test_stacked_plan_and_keras_model_agree_on_one_learner():
    p, params, x, y, sk, stacked, keras = _setup()
    levels = {"hidden": tf.constant(0.4)}
    a = stacked.loss_and_grads(params, x, y, sk, levels)
    b = keras.loss_and_grads(params, x, y, sk, levels)
    for name, u, v in zip(("grads", "outputs", "per-example", "batch loss"), a[:4], b[:4]):
        for s, t in zip(u if isinstance(u, list) else [u], v if isinstance(v, list) else [v]):
            np.testing.assert_allclose(s.numpy(), t.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
    clean = stacked.loss_and_grads(params, x, y, sk, {"hidden": tf.constant(0.0)})
    assert not np.allclose(clean[1].numpy(), a[1].numpy(), atol=1e-4)  # the noise did act
    per_mb = zip(params, stacked.microbatch_grads(params, x, y, sk, 2, levels), keras.microbatch_grads(params, x, y, sk, 2, levels))
    for w, s, t in per_mb:
        assert s.shape == t.shape == (2,) + tuple(w.shape[1:])  # [K·mb, ...]
        np.testing.assert_allclose(s.numpy(), t.numpy(), rtol=1e-5, atol=1e-6)


class Recorder(Mechanism):
    """Records (hook, counter, level) as the round calls it (eagerly: once per step)."""

    calls: list = []

    def on_round_start(self, params, keys, round_t, level):
        self.calls.append(("round_start", int(round_t), float(level)))
        return params

    def on_labels(self, y, keys, step_t, num_classes, level):
        self.calls.append(("labels", int(step_t), float(level)))
        return y

    def on_step_params(self, params, keys, step_t, level):
        self.calls.append(("step_params", int(step_t), float(level)))
        return params

    def on_gradients(self, grads, keys, step_t, level):
        self.calls.append(("gradients", int(step_t), float(level)))
        return grads


def test_hooks_run_in_order_with_the_given_level():
    p, params, x, y, sk, stacked, _ = _setup()
    Recorder.calls = []
    mech = Recorder("toy", None)
    keys = tf.constant(p.learner_keys[0])
    batch = lambda s, g: (x, y)  # noqa: E731
    work = LocalWork(steps=2, num_classes=p.num_classes, regression=False)
    out, loss, corr, cum = local_round(work, stacked, [mech], params, keys, tf.constant(2, tf.int64), batch,
                                       tf.constant(0.1), {"toy": tf.constant(0.25), "hidden": tf.constant(0.4)})
    step = ["labels", "step_params", "gradients"]
    assert Recorder.calls == [("round_start", 2, 0.25)] + [(h, g, 0.25) for g in (3, 4) for h in step]
    assert loss.shape == corr.shape == cum.shape == (1,)
    assert not np.allclose(out[0].numpy(), params[0].numpy())  # two SGD steps moved the weights


def test_dp_sgd_gives_untrained_slots_zeros_and_keeps_keras_indices():
    from tffnoise.noise import distributions, rng

    keys, g = tf.constant([7, 8], tf.int64), tf.constant(5, tf.int64)
    params = [tf.zeros([2, 3]), tf.ones([2, 4]), tf.zeros([2, 5])]
    per_mb = [None, tf.ones([4, 4]), tf.ones([4, 5])]  # K = 2 learners × 2 microbatches; slot 0 untrained
    dp = DpSgd(clip=1e-9, z=1e9, mb=2, kind="crossentropy")  # the clipped sum vanishes beside noise of std 1
    got = dp.noised(per_mb, params, keys, g)
    assert got[0].shape == (2, 3) and not np.any(got[0].numpy())
    base = rng.fold_all(keys, rng.STREAMS["dp"], g)
    for j in (1, 2):  # tensor j draws from fold(key, "dp", g, j), its Keras index, whatever is untrained
        want = distributions.dp_gaussian(rng.fold(base, j), params[j].shape[1:], tf.ones([2])).numpy() / 2
        np.testing.assert_allclose(got[j].numpy(), want, rtol=1e-5, atol=1e-8)

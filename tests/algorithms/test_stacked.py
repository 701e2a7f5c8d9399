import numpy as np
import pytest
import tensorflow as tf

from tffnoise.algorithms.problem import prepare
from tffnoise.algorithms.stacked import StackedEngine
from tffnoise.config import load_config
from tffnoise.noise.context import step_key
from tffnoise.noise.layers import AdditiveNoise, SeededDropout
from tffnoise.noise.weights import perturb

TINY = ["data.clients=3", "data.examples_per_client=20", "model.hidden=[8]", "training.batch_size=5",
        "training.sync_period=2", "training.rounds=3", "experiment.repeats=2"]


def run(overrides, rounds=None):
    cfg = load_config(None, TINY + overrides)
    p = prepare(cfg, [0, 1])
    eng = StackedEngine(p)
    hist = [eng.run_round() for _ in range(rounds or p.rounds)]
    return eng, hist


def weights(eng):
    return [w.numpy() for w in eng.eval_params()]


def test_level_zero_reproduces_clean_run_exactly():
    clean, _ = run([])
    for mech in ("weights", "gradient", "hidden", "input", "label"):
        zero, _ = run([f"noise.{mech}.level=0.0"])
        for a, b in zip(weights(clean), weights(zero)):
            assert np.array_equal(a, b), mech


@pytest.mark.parametrize("mech", ["weights", "gradient", "hidden", "input", "label"])
def test_each_mechanism_changes_training(mech):
    clean, _ = run([])
    noisy, hist = run([f"noise.{mech}.level=0.3"])
    assert all(h["finite"].all() for h in hist)
    assert not np.allclose(weights(clean)[0], weights(noisy)[0])


@pytest.mark.parametrize("protocol", ["periodic-averaging", "serial", "no-sync", "fedavg"])
def test_protocols_run_and_evaluate(protocol):
    extra = ["training.clients_per_round=2", "training.server_momentum=0.5"] if protocol == "fedavg" else []
    eng, hist = run([f"training.protocol={protocol}", "noise.weights.level=0.5"] + extra)
    ev = eng.evaluate("test")
    assert ev["test_accuracy"].shape == (2,) and np.all((0 <= ev["test_accuracy"]) & (ev["test_accuracy"] <= 1))
    if protocol == "no-sync":  # the picked learner only, unless every learner is asked for
        assert "test_accuracy_mean_learner" not in ev
    if protocol == "periodic-averaging":  # after a sync every learner holds the average
        w = eng.params[0].numpy().reshape(2, 3, -1)
        assert np.allclose(w[:, 0], w[:, 1]) and np.allclose(w[:, 0], w[:, 2])


def test_nosync_evaluates_the_picked_learner_or_every_learner():
    """Picked (the default) measures only nosync_pick's learner; every-learner measures all M, the same
    picked value among them, and their mean. A wrong pick (another learner) fails the first check."""
    from tffnoise.algorithms.selection import nosync_pick

    base = ["training.protocol=no-sync", "noise.weights.level=0.5", "data.validation_fraction=0.25"]
    picked, _ = run(base)
    every, _ = run(base + ['training.nosync_eval="every-learner"'])
    pick = nosync_pick(picked.p)
    for split in ("test", "val"):
        a, b = picked.evaluate(split), every.evaluate(split)
        assert f"{split}_accuracy_mean_learner" not in a and f"{split}_loss_mean_learner" in b
        np.testing.assert_allclose(a[f"{split}_loss"], b[f"{split}_loss"], rtol=1e-6)
        np.testing.assert_allclose(a[f"{split}_accuracy"], b[f"{split}_accuracy"], rtol=1e-6)
        params, M, p = every.eval_params(), every.M, every.p
        per_learner = np.array([[every._evaluate_models([w[ri * M + i:ri * M + i + 1] for w in params],
                                                        *((p.x_test, p.y_test) if split == "test" else (p.x_val[ri], p.y_val[ri])))[0][0]
                                 for i in range(M)] for ri in range(every.R)])
        np.testing.assert_allclose(b[f"{split}_loss_mean_learner"], per_learner.mean(1), rtol=1e-5)
        np.testing.assert_allclose(a[f"{split}_loss"], per_learner[np.arange(every.R), pick], rtol=1e-5)
        assert not np.allclose(per_learner[np.arange(every.R), pick], per_learner[np.arange(every.R), (pick + 1) % every.M])


def test_repeats_are_independent_of_their_cellmates():
    cfg = load_config(None, TINY + ["noise.weights.level=0.5", "noise.hidden.level=0.2"])
    both = StackedEngine(prepare(cfg, [0, 1]))
    alone = StackedEngine(prepare(cfg, [1]))
    for _ in range(3):
        both.run_round()
        alone.run_round()
    for a, b in zip(both.eval_params(), alone.eval_params()):
        np.testing.assert_allclose(a.numpy()[1], b.numpy()[0], rtol=1e-6, atol=1e-6)


def test_state_split_join_resumes_identically():
    cfg = load_config(None, TINY + ["noise.weights.level=0.5", "training.protocol=fedavg", "training.server_momentum=0.9"])
    ref = StackedEngine(prepare(cfg, [0, 1]))
    for _ in range(3):
        ref.run_round()
    first = StackedEngine(prepare(cfg, [0, 1]))
    first.run_round()
    states = first.split_states(first.get_state())
    resumed = StackedEngine(prepare(cfg, [0, 1]))
    resumed.set_state(resumed.join_states(states))
    resumed.run_round()
    resumed.run_round()
    for a, b in zip(ref.eval_params(), resumed.eval_params()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_noise_at_init_only_touches_round_one():
    cfg = load_config(None, TINY + ["noise.weights.level=1.0", "noise.weights.schedule=init"])
    p = prepare(cfg, [0])
    mech = p.mechanisms[0]
    params = [tf.zeros([3, 4])]
    keys = tf.constant([1, 2, 3], tf.int64)
    assert np.any(mech.on_round_start(params, keys, tf.constant(1, tf.int64), mech.spec.level)[0].numpy())
    assert not np.any(mech.on_round_start(params, keys, tf.constant(2, tf.int64), mech.spec.level)[0].numpy())


def test_weight_noise_independent_per_learner_and_variable():
    keys = tf.constant([11, 12], tf.int64)
    out = perturb([tf.zeros([2, 500]), tf.zeros([2, 500])], keys, tf.constant(1.0), "gaussian")
    a, b = out[0].numpy(), out[1].numpy()
    assert abs(np.corrcoef(a[0], a[1])[0, 1]) < 0.15 and abs(np.corrcoef(a[0], b[0])[0, 1]) < 0.15
    again = perturb([tf.zeros([2, 500]), tf.zeros([2, 500])], keys, tf.constant(1.0), "gaussian")
    assert np.array_equal(a, again[0].numpy())


def test_noise_layers_inactive_at_inference_and_configurable():
    layer = AdditiveNoise("uniform", 0.5, seed=3)
    x = tf.ones([4, 6])
    assert np.array_equal(layer(x, training=False).numpy(), x.numpy())
    with step_key(tf.constant(7, tf.int64)):
        y1 = layer(x, training=True).numpy()
        y2 = layer(x, training=True).numpy()
    assert np.array_equal(y1, y2) and not np.array_equal(y1, x.numpy())
    other = AdditiveNoise("uniform", 0.5, seed=4)
    with step_key(tf.constant(7, tf.int64)):
        assert not np.array_equal(other(x, training=True).numpy(), y1)  # own seed per layer
    assert AdditiveNoise.from_config(layer.get_config()).get_config() == layer.get_config()
    with pytest.raises(ValueError, match="level"):
        AdditiveNoise("uniform", -1.0)
    with pytest.raises(ValueError, match="distribution"):
        AdditiveNoise("cauchy", 1.0)
    drop = SeededDropout(0.5, seed=1)
    assert np.array_equal(drop(x, training=False).numpy(), x.numpy())


@pytest.mark.parametrize("repeats", [4, 3])
def test_thread_groups_and_multi_round_calls_give_the_same_run(repeats):
    """Repeats split over parallel thread groups (3 repeats: 2 + 1 padded with a copy), several rounds
    per compiled call: the numbers of one group stepping round by round, to the last digit (each learner's
    work is its own slice of every batched op and no sum runs across learners or repeats, so neither the
    group size nor the rounds per call can reorder one; docs/performance.md). State, checkpoints and
    evaluation see the real repeats only. Deliberate error tried: a group reading its learners' keys in
    reverse order fails here."""
    base = TINY + [f"experiment.repeats={repeats}", "noise.weights.level=0.5", "noise.gradient.level=0.1",
                   "training.protocol=fedavg", "training.server_momentum=0.9", "training.rounds=4"]
    reps = list(range(repeats))
    one = StackedEngine(prepare(load_config(None, base + ["execution.threads=1"]), reps))
    two = StackedEngine(prepare(load_config(None, base + ["execution.threads=2"]), reps))
    assert len(one.groups) == 1 and len(two.groups) == 2
    hist_one = [one.run_round() for _ in range(4)]
    hist_two = two.run_rounds(1) + two.run_rounds(3)
    assert two.round == one.round == 4
    for a, b in zip(hist_one, hist_two):
        for k in a:
            assert a[k].shape == b[k].shape == (repeats,), k
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    sa, sb = one.get_state(), two.get_state()
    for k in sa:
        assert sa[k].shape == sb[k].shape, k
        np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)
    ea, eb = one.evaluate("test"), two.evaluate("test")
    assert eb["test_loss"].shape == (repeats,)
    np.testing.assert_array_equal(ea["test_loss"], eb["test_loss"])
    np.testing.assert_array_equal(ea["test_accuracy"], eb["test_accuracy"])
    # a checkpoint of the grouped engine resumes in a fresh one (padding rebuilt from the real repeats)
    resumed = StackedEngine(prepare(load_config(None, base + ["execution.threads=2"]), reps))
    resumed.set_state(two.get_state())
    for k, v in resumed.get_state().items():
        np.testing.assert_array_equal(v, sb[k], err_msg=k)


def test_thread_group_count():
    from tffnoise.algorithms.stacked import thread_groups

    assert thread_groups(10, 2) == (2, 5) and thread_groups(10, 4) == (4, 3)  # 3+3+3+1 padded to 3
    assert thread_groups(5, 2) == (2, 3) and thread_groups(6, 4) == (3, 2) and thread_groups(3, 8) == (3, 1)
    assert thread_groups(10, 1) == (1, 10) and thread_groups(1, 0) == (1, 1)
    groups, size = thread_groups(12, 0)
    assert groups * size >= 12 and (groups - 1) * size < 12


@pytest.mark.parametrize("protocol", ["serial", "no-sync", "periodic-averaging"])
def test_final_weights_are_the_evaluated_model_of_each_repeat(protocol):
    """final_weights reads repeat ri's model from its own thread group (3 repeats over 2 groups, the
    second padded): it must be row ri·per + pick of the joined models the evaluation measures. A
    deliberate error tried: reading the group's row without the no-sync pick fails here."""
    from tffnoise.algorithms.selection import nosync_pick

    cfg = load_config(None, TINY + [f"training.protocol={protocol}", "experiment.repeats=3", "execution.threads=2",
                                    "noise.weights.level=0.5"])
    eng = StackedEngine(prepare(cfg, [0, 1, 2]))
    assert len(eng.groups) == 2
    eng.run_rounds(2)
    joined = [w.numpy() for w in eng.eval_params()]
    per = joined[0].shape[0] // 3
    pick = nosync_pick(eng.p) if protocol == "no-sync" else np.zeros(3, int)
    for ri in range(3):
        got = eng.final_weights(ri)
        assert len(got) == len(joined)
        for a, b in zip(got, joined):
            np.testing.assert_array_equal(a, b[ri * per + pick[ri]])
    if protocol == "no-sync":  # the pick matters: another learner's weights differ
        assert not np.array_equal(eng.final_weights(0)[0], joined[0][(pick[0] + 1) % per])


@pytest.mark.parametrize("protocol", ["serial", "periodic-averaging"])
def test_initial_state_is_every_learner_and_server_at_its_repeats_weights(protocol):
    """Round 0, written here from its definition in the checkpoint layout (every learner and the server at
    the repeat's initial weights, momentum and cumulative loss 0), against the engine's state built per
    thread group (3 repeats over 2 groups, the second padded). A deliberate error tried: tiling the
    repeats (np.tile) instead of repeating each M times fails here."""
    cfg = load_config(None, TINY + [f"training.protocol={protocol}", "experiment.repeats=3", "execution.threads=2"])
    eng = StackedEngine(prepare(cfg, [0, 1, 2]))
    assert len(eng.groups) == 2
    want = {"round": np.array(0), "cum_loss": np.zeros(eng.K, np.float32)}
    for j, w in enumerate(eng.p.init_weights):
        want[f"params_{j}"] = np.repeat(w, eng.M, axis=0)
        want[f"server_{j}"] = w
        want[f"momentum_{j}"] = np.zeros_like(w)
    got = eng.get_state()
    assert sorted(got) == sorted(want)
    for k in want:
        assert got[k].dtype == want[k].dtype, k
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    fresh = StackedEngine(prepare(cfg, [0, 1, 2]))  # set_state of that layout gives the same engine
    fresh.set_state(want)
    for k, v in fresh.get_state().items():
        np.testing.assert_array_equal(v, got[k], err_msg=k)

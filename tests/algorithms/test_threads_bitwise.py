"""execution.threads splits a cell's repeats into thread groups; it must not change a single digit of a run
on one machine (issue "stacked test_loss digits depend on execution.threads": not reproduced, checked on
MLPs under XLA with padding, fedavg, periodic averaging, DP-SGD, learner blocks of 1, 2 and 4, and the CNN
in the graph runtime and under XLA; docs/performance.md). Each learner's work is its own slice of every
batched op, and no reduction runs across learners or repeats, so the group size cannot reorder one.
Deliberate error tried: a group reading its learners' keys in reverse order (groups.Group): fails here."""
import numpy as np

from tffnoise.algorithms.problem import prepare
from tffnoise.algorithms.stacked import StackedEngine
from tffnoise.config import load_config

TINY = ["data.clients=3", "data.examples_per_client=20", "model.hidden=[8]", "training.batch_size=5",
        "training.sync_period=2", "experiment.repeats=3", "noise.weights.level=0.5", "noise.gradient.level=0.1",
        'training.protocol="fedavg"', "training.server_momentum=0.9"]


def _run(threads):
    eng = StackedEngine(prepare(load_config(None, TINY + [f"execution.threads={threads}"]), [0, 1, 2]))
    hist = eng.run_rounds(3)
    return eng, hist, eng.evaluate("test")


def test_thread_groups_do_not_change_a_digit():
    one, h1, e1 = _run(1)
    two, h2, e2 = _run(2)          # 2 + 1 repeats, the second group padded
    assert len(one.groups) == 1 and len(two.groups) == 2
    np.testing.assert_array_equal(e1["test_loss"], e2["test_loss"])
    np.testing.assert_array_equal(e1["test_accuracy"], e2["test_accuracy"])
    for a, b in zip(h1, h2):
        np.testing.assert_array_equal(a["train_loss"], b["train_loss"])
    s1, s2 = one.get_state(), two.get_state()
    for k in s1:
        np.testing.assert_array_equal(s1[k], s2[k], err_msg=k)

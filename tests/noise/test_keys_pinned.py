"""The keyed generator's NumPy-side keys (run keys, learner keys) and the TF step keys, pinned to the
values the code gave before its NumPy twin (algorithms/keys.py's own hash) was removed: data
partitions, initial weights and every noise draw derive from them, so stored results depend on them."""
import numpy as np
import tensorflow as tf

from tffnoise.algorithms import keys
from tffnoise.noise import rng

RUN_KEYS = {(0, 0): 4101989658, (3, 1): 662842267, (2**40 + 7, 5): 315872403}
LEARNER_KEYS_7 = [[547214942, 955725722, 2723555689], [1496236056, 3569784004, 4240989889]]  # seed 7, repeats [0, 1], 3 learners
FOLDS = {(0, 0): 340428713, (123456789, 42): 233216969, (2**32 + 5, 2**33): 459265721}
STEP_KEYS_9 = [[242078648, 3503110648, 3908675674], [2349634362, 93602102, 1322814091]]  # step 9 of LEARNER_KEYS_7


def test_numpy_keys_are_the_pinned_values():
    for (seed, repeat), want in RUN_KEYS.items():
        assert keys.run_key(seed, repeat) == want
    got = keys.learner_keys(7, [0, 1], 3)
    assert got.dtype == np.int64 and got.tolist() == LEARNER_KEYS_7


def test_numpy_and_tf_fold_are_one_hash():
    for (key, value), want in FOLDS.items():
        assert int(rng.fold_np(key, value)) == want
        assert int(rng.fold(tf.constant(key, tf.int64), tf.constant(value, tf.int64))) == want
    a = np.array([[0, 5], [2**31, 2**32 - 1]], np.int64)
    np.testing.assert_array_equal(rng.fold_np(a, 17), rng.fold(tf.constant(a), 17).numpy())


def test_step_keys_are_the_pinned_values():
    got = keys.step_keys(tf.constant(LEARNER_KEYS_7, tf.int64), tf.constant(9, tf.int64)).numpy()
    assert got.tolist() == STEP_KEYS_9

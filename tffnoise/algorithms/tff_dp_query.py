"""DP-FedAvg's query on the TFF engine: gaussian_fixed's, with the noise of the project's generator
(tff_process.py's docstring says why)."""
from __future__ import annotations

import tensorflow as tf

from tffnoise.noise import distributions, rng


def keyed_gaussian_sum_query(clip: float, stddev: float):
    """tensorflow-privacy's GaussianSumQuery (clip each record to `clip`, sum, add N(0, stddev²)) with the
    noise drawn like the stacked engine's `dp.DpFedAvg`: `distributions.dp_gaussian` keyed by
    (global state's key, stream "dp", round t), tensor j of the update. The global state carries the key
    and the rounds done, so every repeat and round draws its own noise and a resumed run continues it."""
    import collections

    import dp_accounting
    import tensorflow_privacy as tfp

    class KeyedGaussianSumQuery(tfp.GaussianSumQuery):
        _GlobalState = collections.namedtuple("_GlobalState", ["l2_norm_clip", "stddev", "key", "round"])

        def make_global_state(self, l2_norm_clip, stddev, key=0, round_done=0):
            return self._GlobalState(tf.cast(l2_norm_clip, tf.float32), tf.cast(stddev, tf.float32),
                                     tf.cast(key, tf.int64), tf.cast(round_done, tf.int64))

        def get_noised_result(self, sample_state, global_state):
            t = global_state.round + 1
            base = rng.fold_all(global_state.key, rng.STREAMS["dp"], t)
            flat = tf.nest.flatten(sample_state)
            noised = [v + distributions.dp_gaussian(rng.fold(base, j), v.shape, global_state.stddev)
                      for j, v in enumerate(flat)]
            event = dp_accounting.GaussianDpEvent(global_state.stddev / global_state.l2_norm_clip)
            return tf.nest.pack_sequence_as(sample_state, noised), global_state._replace(round=t), event

    return KeyedGaussianSumQuery(clip, stddev)

"""Whether the stacked engine runs on a GPU: the one check behind its three device-dependent choices
(XLA for convolutions, `round_program.uses_xla`; one learner block, `round_program.learner_block`; one
thread group, `groups.thread_groups`), so they cannot disagree and a test can flip them all at once.

Logical devices, not physical ones: a GPU hidden with `tf.config.set_visible_devices` runs nothing. The
first call initializes TensorFlow's runtime, after which memory growth can no longer be set; the runner
calls `runner.gpus.configure_gpus` (physical devices, for that reason) before any engine is built."""
from __future__ import annotations

import tensorflow as tf


def on_gpu() -> bool:
    """True when TensorFlow will place the engine's programs on a GPU (a visible logical GPU exists)."""
    return bool(tf.config.list_logical_devices("GPU"))

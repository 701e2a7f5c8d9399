"""Thread groups of the stacked engine: a cell's repeats split into equal groups, each advanced by one
compiled program, the groups in parallel threads (TF releases the GIL while a compiled function runs)."""
from __future__ import annotations

import math
import os
import weakref
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from tffnoise.algorithms import devices
from tffnoise.algorithms.round_program import compiled_round

if TYPE_CHECKING:
    from tffnoise.algorithms.stacked import StackedEngine


def thread_groups(R: int, requested: int = 0, xla: bool = True) -> tuple[int, int]:
    """(groups, repeats per group) for a cell of R repeats. XLA runs a compiled round on one CPU thread
    (see the XLA flag in round_program.py), so independent repeats are the way to use the other cores. Groups are
    equal, so one compilation serves them all: when R does not divide, the last group is padded with
    copies of its last repeat whose results are dropped (5 repeats on 2 cores: 3 + 3, 1.67x rather than
    one core). On a GPU, one group (one device, one large program); without XLA (convolutions on a CPU,
    round_program.uses_xla) one group too: TensorFlow's own thread pools use the cores, and padding would
    only add work (3 repeats: 1.95 s a round in one group, 2.5 s in two, measured)."""
    if requested == 1 or R == 1 or (not xla and not requested):
        return 1, R
    if requested:
        want = requested
    else:
        if devices.on_gpu():
            return 1, R
        from tffnoise.execution.cores import usable_cores

        want = usable_cores()
    size = math.ceil(R / max(1, min(want, R)))
    return math.ceil(R / size), size


_POOL: list = []
_CALLED: weakref.WeakSet = weakref.WeakSet()  # compiled functions that have run once (traced, compiled)


def _pool():
    if not _POOL:
        from concurrent.futures import ThreadPoolExecutor

        _POOL.append(ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="tffnoise-stacked"))
    return _POOL[0]


class Group:
    """Repeats [r0, r1) of a cell, padded to `size` with copies of the last one: their data and state as
    tensors, advanced by one compiled program. `real` repeats count; the padding's results are dropped.
    `rows` are the cell's repeats the group holds, padding included."""

    def __init__(self, engine: "StackedEngine", r0: int, r1: int, size: int):
        p, M = engine.p, engine.M
        self.R, self.real = size, r1 - r0
        self.K = self.R * M
        rows = list(range(r0, r1)) + [r1 - 1] * (size - (r1 - r0))

        def stacked(a):  # a slice (a view) unless padded: tf.constant then makes the one copy
            a = a[r0:r1] if size == r1 - r0 else a[rows]
            return a.reshape((self.K,) + a.shape[2:])

        self.data = {"x": tf.constant(stacked(p.x_clients)), "y": tf.constant(stacked(p.y_clients)),
                     "order": tf.constant(stacked(p.order).astype(np.int32)),
                     "keys": tf.constant(stacked(p.learner_keys)), "selection": tf.constant(engine.selection[:, rows])}
        self.rows = rows
        self.state: dict = {}  # set by StackedEngine.set_state
        self.program = compiled_round(p, engine.plan, self.R, engine.dp_sgd, engine.dp_fedavg)

    def run(self, t0: int, n: int, hyper: dict) -> dict:
        self.state, m = self.program(tf.constant(t0, tf.int64), tf.constant(n, tf.int64), self.state, self.data, hyper)
        return {k: v.numpy()[:n, :self.real] for k, v in m.items()}

    def real_part(self, t, per_repeat: int):
        """The rows of the real repeats of a tensor with per_repeat rows per repeat ([K, ...] or [R, ...])."""
        return t[:self.real * per_repeat] if self.real < self.R else t


def each_group(groups: list, fn, what) -> list:
    """fn(group) for every group, the other groups in parallel threads and the first in this one. The
    first call of `what` runs group 0 alone, before the others: it may trace and compile the function
    they share."""
    if len(groups) == 1:
        return [fn(groups[0])]
    first = []
    if what not in _CALLED:
        first = [fn(groups[0])]
        groups = groups[1:]
        _CALLED.add(what)
    futures = [_pool().submit(fn, g) for g in groups[1:]]
    return first + [fn(groups[0])] + [f.result() for f in futures]

"""Keeps Python's cyclic garbage collector off the hot path of a training process.

Importing TensorFlow, TFF and Keras leaves millions of long-lived objects. Every full collection walks
all of them, a pause of 100-200 ms that lands at a random point in some cell (measured in
benchmarks/run.py: it alone made a 10-repeat cell take 2-3x its usual time). Freezing the heap once the
imports are done moves those objects out of the collector's view; garbage made later is still collected.
The heap is thawed at exit, so everything frozen is finalized as it would have been.
"""
from __future__ import annotations

import atexit
import gc

_DONE: list = []


def freeze_import_heap() -> None:
    """Once per process, after the heavy imports."""
    if not _DONE:
        gc.collect()
        gc.freeze()
        # Frozen objects are finalized only at module teardown, too late for finalizers that need their
        # modules (TFF's executor service stops its worker process in __del__): thaw them at exit.
        atexit.register(gc.unfreeze)
        _DONE.append(True)

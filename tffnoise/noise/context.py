"""The per-step key that noise layers draw from, set by the training loop around each forward pass.

Keras layers cannot take an extra argument through `model(x)`, and a counter variable inside the model
would be averaged (or reset) by federated training. Instead the loop, while tracing its step function,
opens `step_key(k)`; the layers read that tensor during the same trace, so the key becomes a graph
input like any other. Outside such a context (plain `model.fit`) layers fall back to stateful draws.
"""
from __future__ import annotations

import contextlib
import threading

_local = threading.local()


@contextlib.contextmanager
def step_key(key):
    prev = getattr(_local, "key", None)
    _local.key = key
    try:
        yield
    finally:
        _local.key = prev


def current_key():
    return getattr(_local, "key", None)

"""GPU-ready by construction (issue 20 item 3), checked on this CPU: no op of the compiled CNN round is
pinned to a device (XLA places the whole program where TensorFlow puts it: GPU:0 on a GPU host); two
cells that differ only in noise level share one compiled program (one trace, one cache entry); the
engine reports where its cell ran (the run record's `device`); mixed precision (float16 compute,
float32 weights and loss) trains within 2e-2 of float32 over 2 rounds of this tiny CNN (float16's
11-bit significand; the loss is O(1))."""
from __future__ import annotations

import numpy as np
import pytest

from tests.algorithms.cnn_problems import problem



@pytest.fixture(autouse=True)
def _xla(monkeypatch):
    """A GPU's path: XLA, as uses_xla chooses with a GPU (on this CPU convolutions run without it)."""
    from tffnoise.algorithms import round_program

    monkeypatch.setattr(round_program, "FORCE_XLA", True)


PA = ['training.protocol="periodic-averaging"', "noise.input.level=0.1", "noise.weights.level=0.01",
      'noise.weights.schedule="sync"']


def _engines():
    from tffnoise.algorithms.round_key import RoundKey
    from tffnoise.algorithms.round_program import _COMPILED
    from tffnoise.algorithms.stacked import StackedEngine

    _COMPILED.clear()
    a = StackedEngine(problem(PA + ["noise.hidden.level=0.1"]))
    ha = a.run_rounds(2)
    b = StackedEngine(problem(PA + ["noise.hidden.level=0.3"]))
    hb = b.run_rounds(2)
    rounds = [k for k in _COMPILED if isinstance(k[0], RoundKey)]
    return a, b, ha, hb, rounds


@pytest.mark.slow
def test_one_unpinned_program_per_round_structure_and_the_device_is_recorded():
    import tensorflow as tf

    from tffnoise.algorithms.round_program import _COMPILED

    a, b, ha, hb, rounds = _engines()
    assert len(rounds) == 1 and a.groups[0].program is b.groups[0].program
    program = _COMPILED[rounds[0]]
    assert program.experimental_get_tracing_count() == 1
    assert not np.allclose(ha[-1]["train_loss"], hb[-1]["train_loss"])  # the levels did reach the program
    g = a.groups[0]
    concrete = program.get_concrete_function(tf.constant(0, tf.int64), tf.constant(1, tf.int64), g.state, g.data,
                                             a._hyper())
    graph = concrete.graph
    pinned = [op.name for op in graph.get_operations() if op.device]
    for fn in graph._functions.values():  # the while loops' bodies
        pinned += [n.name for n in fn.definition.node_def if n.device]
    assert pinned == []
    assert len(graph._functions) > 0
    assert a.device.endswith("CPU:0") and a.device == b.device


@pytest.mark.slow
def test_mixed_precision_trains_like_float32():
    from tffnoise.algorithms.stacked import StackedEngine

    over = PA + ["noise.hidden.level=0.1"]
    f32 = StackedEngine(problem(over))
    f16 = StackedEngine(problem(over + ["model.mixed_precision=true"]))
    assert {op.dtype for op in f16.plan if hasattr(op, "dtype")} == {"float16", "float32"}
    for a, b in zip(f32.run_rounds(2), f16.run_rounds(2)):
        np.testing.assert_allclose(b["train_loss"], a["train_loss"], atol=2e-2, rtol=2e-2)
        assert b["finite"].all()
    s32, s16 = f32.get_state(), f16.get_state()
    assert all(v.dtype == np.float32 for k, v in s16.items() if k.startswith("params_"))
    for k in s32:
        if k.startswith("server_"):
            np.testing.assert_allclose(s16[k], s32[k], atol=2e-2, rtol=2e-2, err_msg=k)
    np.testing.assert_allclose(f16.evaluate("test")["test_loss"], f32.evaluate("test")["test_loss"], atol=2e-2, rtol=2e-2)

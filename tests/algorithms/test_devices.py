"""The one GPU check (algorithms/devices.py, issue 20/21 housekeeping): the stacked engine's three
device-dependent choices all read `devices.on_gpu`, so reporting a GPU there flips every one of them on
this CPU, and the FORCE_XLA / FORCE_BLOCK test hooks still win over it."""
from __future__ import annotations

import pytest

from tffnoise.algorithms import devices, groups, round_program
from tffnoise.algorithms.plan import Conv2D

CONV = [Conv2D(kernel=0, bias=None, activation="relu", strides=(1, 1), padding="SAME")]
BIG = 4 * 2**20          # bytes of one model: two learners' weights and gradients exceed BLOCK_BYTES


def _decisions():
    return (round_program.uses_xla(CONV), round_program.learner_block(10, BIG, xla=True),
            groups.thread_groups(6, 0, xla=True))


def test_reporting_a_gpu_flips_all_three_choices(monkeypatch):
    monkeypatch.setattr(devices, "on_gpu", lambda: False)
    monkeypatch.setattr("tffnoise.execution.cores.usable_cores", lambda: 2)
    assert _decisions() == (False, 1, (2, 3))          # CPU: graph runtime for convolutions, blocks, groups
    monkeypatch.setattr(devices, "on_gpu", lambda: True)
    assert _decisions() == (True, 10, (1, 6))          # GPU: XLA, one batched block, one group


def test_this_cpu_has_no_gpu_and_the_hooks_still_win(monkeypatch):
    assert devices.on_gpu() is False
    monkeypatch.setattr(devices, "on_gpu", lambda: True)
    monkeypatch.setattr(round_program, "FORCE_XLA", False)
    monkeypatch.setattr(round_program, "FORCE_BLOCK", 5)
    assert round_program.uses_xla(CONV) is False and round_program.learner_block(10, BIG, xla=True) == 5


def test_no_other_module_asks_tensorflow_for_gpus():
    """Every device decision goes through devices.on_gpu (runner/gpus.py configures memory growth on the
    physical devices, which must not initialize the runtime, and is not a decision)."""
    import pathlib

    root = pathlib.Path(round_program.__file__).parents[1]
    askers = sorted(str(p.relative_to(root)) for p in root.rglob("*.py")
                    if 'list_logical_devices("GPU")' in p.read_text() or 'list_physical_devices("GPU")' in p.read_text())
    assert askers == ["algorithms/devices.py", "runner/gpus.py"]

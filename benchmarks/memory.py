"""A stacked cell's peak memory predicted from its shapes, so the scaling rows skip (printing "needs X
GiB") what would not fit, instead of running the machine out of memory.

    peak ≈ BASE + 4·P·(K·LEARNER_COPIES + R·SERVER_COPIES) + data + evaluation chunk

- P weights per model (benchmarks/workmodel.mlp_params), K = learners × repeats stacked models, R repeats.
- LEARNER_COPIES = 5: the state's weights, the XLA loop's carried copy, the perturbed weights, the
  gradient and the updated weights live at once in the compiled round. SERVER_COPIES = 4: the server
  models and momentum, each with its loop copy.
- data: the training examples (K·n·(d + 1) floats: features and label) and the test set, DATA_COPIES = 3
  times (the loaded dataset, the problem's per-learner arrays, the tensors the engine feeds).
- evaluation: the widest layer's activations, input and output, for one chunk of the test set
  (stacked.EVAL_CHUNK = 8192 examples at most) and every evaluated model (one per repeat).
- BASE = 150 MiB: tracing, XLA compilation and the runtime's buffers of a first cell (measured on
  2048-wide and 64-wide cells: the rise of a 64-wide, 500-learner cell was 155 MiB).
Calibrated on cells of 0.15–1 GiB (tests/benchmarks/test_memory_prediction.py checks one within a factor
of 1.5); it errs high, which is the safe side for a skip.
"""
from __future__ import annotations

from workmodel import BYTES, mlp_params

LEARNER_COPIES = 5
SERVER_COPIES = 4
DATA_COPIES = 3
BASE_BYTES = 150 * 2**20
EVAL_CHUNK = 8192
LIMIT_GIB = 12.0


def predict_cell_bytes(dims, learners: int, repeats: int, per_client: int, test: int) -> int:
    P = mlp_params(dims)
    K = learners * repeats
    d = dims[0]
    state = BYTES * P * (K * LEARNER_COPIES + repeats * SERVER_COPIES)
    data = BYTES * (d + 1) * (K * per_client + test) * DATA_COPIES
    chunk = min(test, EVAL_CHUNK)
    evaluation = BYTES * 2 * chunk * repeats * max(dims[1:])
    return int(BASE_BYTES + state + data + evaluation)


def guarded(row: dict, need_bytes: int, measure, limit_gib: float = LIMIT_GIB) -> dict:
    """row updated by measure() when the prediction fits in limit_gib, else marked skipped, not run."""
    row = {**row, "predicted_mb": need_bytes / 2**20}
    if need_bytes > limit_gib * 2**30:
        return {**row, "skipped": f"needs {need_bytes / 2**30:.1f} GiB (> {limit_gib:g} GiB)"}
    return {**measure(), **row}

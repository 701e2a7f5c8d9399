"""Where a cell's time goes (compile, train, evaluate, bookkeeping, attacks), measured by the runner
itself, so benchmarks and users read it from the `cell_finished` event instead of guessing."""
from __future__ import annotations

import contextlib
import time

PARTS = ("setup", "compile", "train", "evaluate", "bookkeeping", "attacks")


class Timings:
    """Seconds per part of one cell. `compile` is the first engine call (tracing and compilation plus
    its one round, which cannot be told apart from outside the engine); `train` every later call."""

    def __init__(self):
        self.s = dict.fromkeys(PARTS, 0.0)
        self._t0 = time.perf_counter()

    @contextlib.contextmanager
    def part(self, name: str):
        tic = time.perf_counter()
        try:
            yield
        finally:
            self.s[name] += time.perf_counter() - tic

    def as_dict(self) -> dict:
        """The parts and the cell's wall time; `other` is what no part covers (per-round metrics rows, events, the loop)."""
        wall = time.perf_counter() - self._t0
        return {**{k: round(v, 4) for k, v in self.s.items()}, "wall": round(wall, 4),
                "other": round(max(0.0, wall - sum(self.s.values())), 4)}

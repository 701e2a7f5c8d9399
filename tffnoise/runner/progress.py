"""Progress on a terminal (one updating line), JSON lines otherwise."""
from __future__ import annotations

import json
import sys
import time


class JsonEmitter:
    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def __call__(self, event: dict) -> None:
        self.stream.write(json.dumps({"t": round(time.time(), 3), **event}, default=str) + "\n")
        self.stream.flush()


def print_header(specs, stream, live: bool) -> None:
    """What the sweep is, from its plan alone (no TensorFlow yet: the import takes seconds), then a line that
    says what the wait is for; on a terminal (`live`) the progress rewrites that line."""
    settings = len({s.setting_id for s in specs})
    repeats = {s.config.experiment.repeats for s in specs}
    shape = f"{settings} setting(s) × {repeats.pop()} repeat(s)" if len(repeats) == 1 else f"{settings} settings"
    data = sorted({s.config.data.source + (" (SYNTHETIC)" if s.config.data.synthetic else "") for s in specs})
    stream.write(f"tffnoise: {len(specs)} runs ({shape}), engine {', '.join(sorted({s.config.engine for s in specs}))}\n"
                 f"  store: {specs[0].config.out}\n  data:  {', '.join(data)}\n"
                 + ("loading TensorFlow…" if live else "loading TensorFlow…\n"))
    stream.flush()


class TerminalProgress:
    """runs done / total, the current cell's round, an ETA from the rounds done so far."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.total = self.done = 0
        self.t0 = time.time()
        self.rounds_done = 0
        self.rounds_total = 0
        self.synthetic = False
        self.dataset = None

    def __call__(self, e: dict) -> None:
        ev = e["event"]
        if ev == "sweep_started":
            self.total, self.done = e["runs"], e["finished"]
            if self.done:
                self.stream.write(f"\r\033[K  {self.done} of {self.total} runs already finished; resuming the rest\n")
            self.stream.write("\r\033[Kbuilding the first cell…")
        elif ev == "cell_started":
            self.cell_runs = len(e["runs"])
            self.cell_t0, self.cell_r0 = time.time(), e["round"]
            if e.get("synthetic"):
                self.synthetic = True
            self.stream.write("\r\033[K")
            if e["dataset"] != self.dataset:  # cells of one sweep mostly share it: said once
                self.dataset = e["dataset"]
                self.stream.write(f"  data: {e['dataset']}\n")
        elif ev == "round":
            r, n = e["round"], e["rounds"]
            el = time.time() - self.cell_t0
            per = el / max(1, r - self.cell_r0)
            left_runs = self.total - self.done - self.cell_runs
            eta = per * (n - r) + per * n * max(0, left_runs) / max(1, self.cell_runs)
            acc = e.get("test_accuracy")
            bar = _bar((self.done + self.cell_runs * r / n) / max(1, self.total))
            self.stream.write(f"\r\033[K{bar} runs {self.done}/{self.total}  round {r}/{n}  "
                              f"loss {e['train_loss'] if e['train_loss'] is None else round(e['train_loss'], 4)}  "
                              f"acc {'-' if acc is None else f'{acc:.4f}'}  ETA {_fmt(eta)}")
        elif ev in ("run_finished", "run_failed"):
            self.done += 1
            if ev == "run_failed":
                self.stream.write(f"\r\033[K  run {e['run_id']} failed: {e['error']}\n")
        elif ev == "diverged":
            self.stream.write(f"\r\033[K  run {e['run_id']} diverged at round {e['round']}\n")
        elif ev == "sweep_finished":
            self.stream.write(f"\r\033[K{_bar(1.0)} runs {self.total}/{self.total} in {_fmt(e['wall_s'])}\n")
        self.stream.flush()


def _bar(frac: float, width: int = 24) -> str:
    n = int(round(frac * width))
    return "[" + "#" * n + "." * (width - n) + "]"


def _fmt(s: float) -> str:
    s = int(s)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"

"""Read a launch log as it grows: the runner's JSON event lines (one readable line each) and the other
(stderr) lines."""
from __future__ import annotations

import json
from collections import deque
from pathlib import Path


class LogTail:
    """Incrementally read a launch log: JSON event lines and the other (stderr) lines."""

    def __init__(self, path: Path | None, keep: int = 200):
        self.path = Path(path) if path else None
        self.offset = 0
        self.lines: deque[str] = deque(maxlen=keep)
        self.added: list[str] = []  # the lines of the last read(), all of them even when more than `keep`
        self._partial = b""

    def read(self) -> list[dict]:
        """New events since the last call (other lines go to `lines`; this call's lines also to `added`)."""
        self.added = []
        if self.path is None:
            return []
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return []
        self.offset += len(data)
        data = self._partial + data
        *complete, self._partial = data.split(b"\n")
        events = []
        for raw in complete:
            line = raw.decode(errors="replace").rstrip("\r")
            if not line.strip():
                continue
            if line.startswith("{"):
                try:
                    ev = json.loads(line)
                except json.JSONDecodeError:
                    ev = None
                if isinstance(ev, dict) and "event" in ev:
                    events.append(ev)
                    self._add(describe_event(ev))
                    continue
            self._add(line)
        return events

    def _add(self, line: str) -> None:
        self.lines.append(line)
        self.added.append(line)


def describe_event(ev: dict) -> str:
    """One readable log line per runner event."""
    kind = ev.get("event")
    if kind == "sweep_started":
        return f"sweep started: {ev.get('runs')} runs in {ev.get('cells')} cells ({ev.get('finished', 0)} already finished)"
    if kind == "cell_started":
        syn = " SYNTHETIC" if ev.get("synthetic") else ""
        return f"cell started: {len(ev.get('runs', []))} runs from round {ev.get('round')}/{ev.get('rounds')}{syn}"
    if kind == "round":
        acc = ev.get("test_accuracy")
        acc_s = f" acc {acc:.3f}" if isinstance(acc, (int, float)) else ""
        loss = ev.get("train_loss")
        loss_s = f" loss {loss:.4g}" if isinstance(loss, (int, float)) else ""
        return f"round {ev.get('round')}/{ev.get('rounds')}{loss_s}{acc_s}"
    if kind == "run_finished":
        acc = (ev.get("final") or {}).get("test_accuracy")
        acc_s = f" acc {acc:.3f}" if isinstance(acc, (int, float)) else ""
        return f"run {ev.get('run_id')} {ev.get('status')}{acc_s}"
    if kind == "diverged":
        return f"run {ev.get('run_id')} DIVERGED at round {ev.get('round')}"
    if kind == "run_failed":
        return f"run {ev.get('run_id')} FAILED: {ev.get('error')}"
    if kind == "sweep_finished":
        st = ev.get("status") or {}
        return (f"sweep finished in {ev.get('wall_s', 0):.1f}s: done {st.get('done', 0)}, "
                f"diverged {st.get('diverged', 0)}, failed {st.get('failed', 0)}")
    return json.dumps(ev)

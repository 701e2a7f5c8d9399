"""Read the run store while a sweep writes it (SQLite in WAL mode, metrics.jsonl appended per round).

Nothing here imports TensorFlow: only `tffnoise.runner.store` (sqlite + json).
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

from tffnoise.runner.store import FINISHED, history_problem, parse_metrics, pid_alive  # noqa: F401 (the launcher imports pid_alive)


def runner_alive(pid) -> bool:
    """The pid is alive and (where /proc tells) still a tffnoise process, not a recycled pid."""
    if not pid_alive(pid):
        return False
    try:
        cmd = open(f"/proc/{int(pid)}/cmdline", "rb").read()
    except OSError:
        return True  # no /proc (macOS) or no permission: trust the pid
    return b"tffnoise" in cmd


@dataclass
class Progress:
    """Round progress of one run as observed over time (for an ETA that works for reattached sweeps too)."""

    first_t: float
    first_round: int
    last_t: float
    last_round: int

    def eta(self, rounds: int) -> float | None:
        done = self.last_round - self.first_round
        if done <= 0 or not rounds:
            return None
        rate = (self.last_t - self.first_t) / done
        return max(0.0, (rounds - self.last_round) * rate)


class SweepEta:
    """The sweep's ETA from the progress seen since it was first watched: a sweep attached to, or resumed,
    part done is not credited with the work done before (that would give 15 s for 4 minutes left)."""

    def __init__(self):
        self.t0: float | None = None
        self.frac0 = 0.0

    def eta(self, now: float, frac: float) -> float | None:
        if self.t0 is None or frac < self.frac0:  # first look (or the store was reset): the baseline
            self.t0, self.frac0 = now, frac
        done = frac - self.frac0
        if done <= 0 or frac >= 1:
            return None
        return (now - self.t0) * (1 - frac) / done


def fmt_eta(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


class StoreReader:
    """Polls one store root. Every method tolerates a store that does not exist yet."""

    def __init__(self, root: str | Path, clock=time.time):
        self.root = Path(root)
        self.clock = clock
        self._store = None
        self._metrics: dict[str, tuple[int, list[dict], int | None]] = {}
        self._configs: dict[str, dict] = {}
        self.progress: dict[str, Progress] = {}
        self._rows: list[dict] = []

    # --- index ----------------------------------------------------------------------------------
    @property
    def exists(self) -> bool:
        return (self.root / "index.sqlite").exists()

    def _open(self):
        if self._store is None and self.exists:
            from tffnoise.runner.store import Store

            self._store = Store(self.root, create=False)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def rows(self) -> list[dict]:
        if self._store is not None and self._store.snapshot:
            self.close()  # read again: from the index once it is readable, else a fresh copy of the run folders
        try:
            store = self._open()
            if store is None:
                return []
            rows = store.all()
        except Exception:  # sqlite busy / table not created yet: the last rows read stand until the next poll
            return [dict(r) for r in self._rows]  # (an empty table for one poll would say the runs are gone)
        self._rows = [dict(r) for r in rows]
        now = self.clock()
        for r in rows:
            rnd = int(r.get("round") or 0)
            p = self.progress.get(r["run_id"])
            if r.get("status") != "running":
                continue
            if p is None or rnd < p.last_round:
                self.progress[r["run_id"]] = Progress(now, rnd, now, rnd)
            elif rnd > p.last_round:
                p.last_t, p.last_round = now, rnd
        return rows

    def eta(self, row: dict) -> float | None:
        p = self.progress.get(row["run_id"])
        return p.eta(int(row.get("rounds") or 0)) if p else None

    def running(self, rows: list[dict] | None = None) -> list[dict]:
        """Runs marked running whose process is still alive (a sweep that outlived a TUI)."""
        rows = self.rows() if rows is None else rows
        return [r for r in rows if r.get("status") == "running" and runner_alive(r.get("pid"))]

    # --- per-run files --------------------------------------------------------------------------
    def metrics(self, run_id: str) -> list[dict]:
        """metrics.jsonl, re-read only when its size changed."""
        p = self.root / "runs" / run_id / "metrics.jsonl"
        try:
            size = p.stat().st_size
        except OSError:
            return []
        cached = self._metrics.get(run_id)
        if cached and cached[0] == size:
            return cached[1]
        try:
            out, bad = parse_metrics(p.read_bytes())
        except OSError:
            out, bad = [], 1
        self._metrics[run_id] = (size, out, bad)
        return out

    def history_problem(self, row: dict) -> str | None:
        """What is wrong with a finished run's history (None when whole); see tffnoise.runner.store."""
        self.metrics(row["run_id"])
        cached = self._metrics.get(row["run_id"])
        return history_problem(cached[1] if cached else [], cached[2] if cached else None, row)

    def run_json(self, run_id: str, name: str = "run.json") -> dict | None:
        p = self.root / "runs" / run_id / name
        try:
            return json.loads(p.read_text())
        except (OSError, ValueError):  # missing, half-written or overwritten
            return None

    def newest_devices(self) -> tuple[list[str], str | None]:
        """TensorFlow's visible devices from the newest run.json provenance, and that run's id."""
        runs = self.root / "runs"
        try:
            files = sorted(runs.glob("*/run.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        except OSError:
            return [], None
        for f in files[:20]:
            try:
                data = json.loads(f.read_text())
            except (OSError, ValueError):
                continue
            devs = (data.get("provenance") or {}).get("devices")
            if devs is not None:
                return list(devs), f.parent.name
        return [], None

    def config(self, run_id: str) -> dict:
        """The run's resolved config.toml as a dict (written once at registration, so read once); {} if absent."""
        if run_id not in self._configs:
            import tomllib

            try:
                self._configs[run_id] = tomllib.loads((self.root / "runs" / run_id / "config.toml").read_text())
            except (OSError, tomllib.TOMLDecodeError):
                return {}
        return self._configs[run_id]

    def records(self, rows: list[dict] | None = None) -> list[dict]:
        """Store rows shaped as report records, like `tffnoise report` reads them: `final` holds the final
        metrics, `config` the resolved config (grouping and clean reference), `history` the per-round rows
        of finished runs (the SNR curves)."""
        from tffnoise.records.load import make_record

        rows = self.rows() if rows is None else rows
        out = []
        for r in rows:
            problem = self.history_problem(r) if r.get("status") in FINISHED else None
            history = self.metrics(r["run_id"]) if r.get("status") == "done" and not problem else []
            final = (self.run_json(r["run_id"], "summary.json") or {}).get("final") if r.get("status") == "done" else None
            rec = make_record(r, config=self.config(r["run_id"]), history=history, final=final)
            rec["history_incomplete"] = problem
            out.append(rec)
        return out

    def launch_logs(self) -> list[Path]:
        d = self.root / "launches"
        try:
            return sorted(d.glob("*.log"))
        except OSError:
            return []


def sweep_progress(rows: list[dict]) -> float:
    """Fraction of the sweep's rounds done (finished runs count whole)."""
    if not rows:
        return 0.0
    total = 0.0
    for r in rows:
        if r.get("status") in ("done", "diverged", "failed"):
            total += 1
        elif r.get("rounds"):
            total += min(1.0, (r.get("round") or 0) / r["rounds"])
    return total / len(rows)


def status_counts(rows: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.get("status") or "?"] = counts.get(r.get("status") or "?", 0) + 1
    return counts

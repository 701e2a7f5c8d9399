"""The run store: one folder per run plus a SQLite index that other processes read while a sweep writes.

    OUT/index.sqlite            runs table (WAL mode: readers never block the writer)
    OUT/writer.lock             pid, host, start time of the one process writing OUT (tffnoise.runner.lock)
    OUT/runs/<run_id>/config.toml   resolved config of the run's setting
    OUT/runs/<run_id>/run.json      identity, labels, provenance
    OUT/runs/<run_id>/metrics.jsonl one JSON object per round (truncated back to the checkpoint on resume)
    OUT/runs/<run_id>/summary.json  final metrics (written last, atomically)
    OUT/runs/<run_id>/checkpoint.npz  state to resume from
    OUT/runs/<run_id>/model.keras, members.npz  final model and member / held-out example ids
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path

from tffnoise.runner.atomic import dumps_line, write_json, write_text

STATUSES = ("pending", "running", "interrupted", "done", "diverged", "failed")
FINISHED = ("done", "diverged")


def pid_alive(pid) -> bool:
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    except (OSError, ValueError, OverflowError):
        return False
    return True


def observed(row: dict, alive=pid_alive) -> dict:
    """The index says `running` until its writer says otherwise, and a writer that is killed (SIGKILL, a
    crash, the TUI's cancel) never does: a running row whose process is gone reads as `interrupted`."""
    if row.get("status") == "running" and not alive(row.get("pid")):
        row["status"] = "interrupted"
    return row

COLUMNS = {
    "run_id": "TEXT PRIMARY KEY", "setting_id": "TEXT", "experiment": "TEXT", "repeat": "INTEGER",
    "status": "TEXT", "round": "INTEGER", "rounds": "INTEGER", "engine": "TEXT", "protocol": "TEXT",
    "mechanism": "TEXT", "distribution": "TEXT", "level": "REAL", "setup": "TEXT", "dataset": "TEXT",
    "synthetic": "INTEGER", "test_accuracy": "REAL", "test_loss": "REAL", "val_accuracy": "REAL",
    "cumulative_train_loss": "REAL", "epsilon": "REAL", "mia_auc": "REAL", "diverged_round": "INTEGER",
    "error": "TEXT", "pid": "INTEGER", "created": "REAL", "updated": "REAL", "wall_s": "REAL",
    "labels": "TEXT", "dir": "TEXT",
}


class Store:
    def __init__(self, root: str | Path, create: bool = True):
        self.root = Path(root)
        if create:
            (self.root / "runs").mkdir(parents=True, exist_ok=True)
        self.db_path = self.root / "index.sqlite"
        self._con = None
        if create:
            with self.tx() as con:
                cols = ", ".join(f"{k} {v}" for k, v in COLUMNS.items())
                con.execute(f"CREATE TABLE IF NOT EXISTS runs ({cols})")

    def connect(self) -> sqlite3.Connection:
        if self._con is None:
            con = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
            con.row_factory = sqlite3.Row
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA busy_timeout=30000")
            self._con = con
        return self._con

    @contextmanager
    def tx(self):
        con = self.connect()
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def close(self):
        if self._con is not None:
            self._con.close()
            self._con = None

    # --- runs -----------------------------------------------------------------------------------
    def run_dir(self, run_id: str) -> Path:
        return self.root / "runs" / run_id

    def register(self, run_id: str, row: dict, config_toml: str, meta: dict) -> None:
        """Idempotent: a run already in the index keeps its status and files."""
        d = self.run_dir(run_id)
        with self.tx() as con:
            if con.execute("SELECT 1 FROM runs WHERE run_id=?", (run_id,)).fetchone():
                return
            d.mkdir(parents=True, exist_ok=True)
            write_text(d / "config.toml", config_toml)
            write_json(d / "run.json", meta)
            now = time.time()
            full = {"run_id": run_id, "status": "pending", "round": 0, "created": now, "updated": now,
                    "dir": str(d), **row}
            keys = [k for k in full if k in COLUMNS]
            con.execute(f"INSERT INTO runs ({', '.join(keys)}) VALUES ({', '.join('?' * len(keys))})",
                        [full[k] for k in keys])

    def update(self, run_id: str, **fields) -> None:
        fields["updated"] = time.time()
        keys = [k for k in fields if k in COLUMNS]
        with self.tx() as con:
            con.execute(f"UPDATE runs SET {', '.join(k + '=?' for k in keys)} WHERE run_id=?",
                        [fields[k] for k in keys] + [run_id])

    def writing(self):
        """Whether a pid is the store's live writer: the holder of its lock (tffnoise.runner.lock); for a
        store written before the lock existed, any live process."""
        from tffnoise.runner.lock import LOCK_NAME, holder, holder_alive

        if not (self.root / LOCK_NAME).exists():
            return pid_alive
        w = holder(self.root)
        live = holder_alive(w)
        return lambda pid: live and pid is not None and str(pid) == str(w.get("pid"))

    def get(self, run_id: str) -> dict | None:
        row = self.connect().execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()
        return observed(dict(row), self.writing()) if row else None

    def find(self, prefix: str) -> dict | None:
        rows = self.connect().execute("SELECT * FROM runs WHERE run_id LIKE ?", (prefix + "%",)).fetchall()
        return observed(dict(rows[0]), self.writing()) if len(rows) == 1 else None

    def all(self, status: str | None = None) -> list[dict]:
        """Every run (or those whose observed status is `status`), oldest first."""
        q = "SELECT * FROM runs ORDER BY created, setting_id, repeat"
        alive = self.writing()
        rows = [observed(dict(r), alive) for r in self.connect().execute(q).fetchall()]
        return [r for r in rows if status is None or r["status"] == status]

    # --- per-run files --------------------------------------------------------------------------
    def append_metrics(self, run_id: str, row: dict) -> None:
        with open(self.run_dir(run_id) / "metrics.jsonl", "a") as f:
            f.write(dumps_line(row) + "\n")
            f.flush()

    def read_metrics(self, run_id: str) -> list[dict]:
        p = self.run_dir(run_id) / "metrics.jsonl"
        if not p.exists():
            return []
        out = []
        for line in p.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by a kill: resume rewrites it
                break
        return out

    def truncate_metrics(self, run_id: str, last_round: int) -> None:
        keep = [r for r in self.read_metrics(run_id) if r.get("round", 0) <= last_round]
        write_text(self.run_dir(run_id) / "metrics.jsonl", "".join(dumps_line(r) + "\n" for r in keep))

    def write_summary(self, run_id: str, summary: dict) -> None:
        write_json(self.run_dir(run_id) / "summary.json", summary)

    def read_json(self, run_id: str, name: str) -> dict | None:
        p = self.run_dir(run_id) / name
        return json.loads(p.read_text()) if p.exists() else None


def open_store(root: str | Path) -> Store:
    """Open an existing store for reading (reports, TUI, `tffnoise runs`)."""
    from tffnoise.errors import UserError

    if not (Path(root) / "index.sqlite").exists():
        raise UserError(f"{root}: no run store here (expected {Path(root) / 'index.sqlite'}); run `tffnoise run FILE --out {root}` first")
    return Store(root, create=False)

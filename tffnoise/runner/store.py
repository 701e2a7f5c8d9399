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
import sys
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


def warn(msg: str) -> None:
    """Damage found and worked around: one line on stderr, naming the file (stdout may carry JSON)."""
    print(f"warning: {msg}", file=sys.stderr)


def parse_metrics(data: bytes) -> tuple[list[dict], int | None]:
    """metrics.jsonl's rows up to the first line that is not a JSON object, and that line's number."""
    out = []
    for i, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:  # JSONDecodeError or UnicodeDecodeError: a line cut by a kill, or overwritten
            return out, i
        if not isinstance(row, dict):
            return out, i
        out.append(row)
    return out, None


def history_problem(rows: list[dict], bad_line: int | None, row: dict) -> str | None:
    """What is wrong with a finished run's history (None when it is whole: rounds 1..its last round, every
    line readable). An unfinished run's cut last line is normal (a resume trims it), so only finished runs
    are judged."""
    if row.get("status") not in FINISHED:
        return None
    if bad_line is not None:
        return f"line {bad_line} is not a JSON object (history incomplete)"
    rounds = [r.get("round") for r in rows]
    want = int(row.get("round") or 0)
    if rounds != list(range(1, want + 1)):
        got = f"rounds {rounds[0]}..{rounds[-1]}" if rounds else "no rounds"
        return f"history incomplete: {got} of 1..{want}"
    return None


TABLE_SQL = ", ".join(f"{k} {v}" for k, v in COLUMNS.items())


def insert_rows(con, rows: list[dict]) -> None:
    for full in rows:
        keys = [k for k in full if k in COLUMNS]
        con.execute(f"INSERT INTO runs ({', '.join(keys)}) VALUES ({', '.join('?' * len(keys))})", [full[k] for k in keys])


class Store:
    def __init__(self, root: str | Path, create: bool = True):
        self.root = Path(root)
        if create:
            (self.root / "runs").mkdir(parents=True, exist_ok=True)
        self.db_path = self.root / "index.sqlite"
        self._con = None
        self._memory = False  # a rebuilt index this reader could not write back (a live writer holds the store)
        from tffnoise.runner.rebuild import index_file_aside, rebuild_index

        if create and not self.db_path.exists():
            os.replace(index_file_aside(self.root, []), self.db_path)
        try:
            if create:
                with self.tx() as con:
                    con.execute(f"CREATE TABLE IF NOT EXISTS runs ({TABLE_SQL})")
            n = self.connect().execute("SELECT count(*) FROM runs").fetchone()[0]
        except sqlite3.DatabaseError as exc:  # garbage, truncated, a 0-byte file without the table
            self.close()
            rebuild_index(self, f"not a readable run index ({exc})")
            return
        if n == 0 and any((self.root / "runs").glob("*/run.json")):
            self.close()
            rebuild_index(self, "empty although run folders exist")

    @property
    def snapshot(self) -> bool:
        """A copy of the run folders in memory, read because the index could not be while a writer held the
        store: it does not follow that writer, so a poller opens the store again."""
        return self._memory

    def connect(self) -> sqlite3.Connection:
        if self._con is None:
            con = sqlite3.connect(":memory:" if self._memory else self.db_path, timeout=30, isolation_level=None)
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
            insert_rows(con, [{"run_id": run_id, "status": "pending", "round": 0, "created": now, "updated": now,
                           "dir": str(d), **row}])

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
        """The readable rows (a line cut by a kill ends them: a resume rewrites it)."""
        return self.metrics_checked(run_id, None)[0]

    def metrics_checked(self, run_id: str, row: dict | None) -> tuple[list[dict], str | None]:
        """The rows and, for a finished run (`row` from the index), what is wrong with its history."""
        p = self.run_dir(run_id) / "metrics.jsonl"
        try:
            rows, bad = parse_metrics(p.read_bytes())
        except FileNotFoundError:
            rows, bad = [], None
        except OSError as exc:
            rows, bad = [], 1
            if row is None:
                warn(f"{p}: unreadable ({exc})")
        return rows, (history_problem(rows, bad, row) if row is not None else None)

    def truncate_metrics(self, run_id: str, last_round: int) -> None:
        if not (self.run_dir(run_id) / "metrics.jsonl").exists():
            return  # a run starting fresh: nothing to cut (and no fsync'd empty file per run)
        keep = [r for r in self.read_metrics(run_id) if r.get("round", 0) <= last_round]
        write_text(self.run_dir(run_id) / "metrics.jsonl", "".join(dumps_line(r) + "\n" for r in keep))

    def write_summary(self, run_id: str, summary: dict) -> None:
        write_json(self.run_dir(run_id) / "summary.json", summary)

    def read_json(self, run_id: str, name: str, quiet: bool = False) -> dict | None:
        """A run's JSON file; None when it is missing or damaged (a warning names a damaged one)."""
        p = self.run_dir(run_id) / name
        try:
            data = json.loads(p.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            if not quiet:
                warn(f"{p}: unreadable ({type(exc).__name__}); treated as missing")
            return None
        return data if isinstance(data, dict) else None

    def check_finished(self, run_id: str) -> str | None:
        """Why a run the index calls finished cannot be trusted as such, or None. A missing or damaged
        summary.json: it is resumed from its checkpoint; an incomplete history: it is rerun from round 0."""
        row = self.get(run_id)
        if row is None or row["status"] not in FINISHED:
            return None
        problem = self.metrics_checked(run_id, row)[1]
        if not problem and self.read_json(run_id, "summary.json", quiet=True) is None:
            self.update(run_id, status="interrupted")
            return f"{self.run_dir(run_id) / 'summary.json'}: missing or unreadable; the run is resumed from its checkpoint"
        if problem:
            d = self.run_dir(run_id)
            for name in ("summary.json", "checkpoint.npz", "metrics.jsonl", "model.keras", "members.npz"):
                (d / name).unlink(missing_ok=True)
            self.update(run_id, status="pending", round=0, test_accuracy=None, test_loss=None, val_accuracy=None,
                        cumulative_train_loss=None, epsilon=None, mia_auc=None, diverged_round=None)
            return f"{d / 'metrics.jsonl'}: {problem}; the run is rerun from round 0"
        return None


def open_store(root: str | Path) -> Store:
    """Open an existing store for reading (reports, TUI, `tffnoise runs`)."""
    from tffnoise.errors import UserError

    if not (Path(root) / "index.sqlite").exists() and not any((Path(root) / "runs").glob("*/run.json")):
        raise UserError(f"{root}: no run store here (expected {Path(root) / 'index.sqlite'}); run `tffnoise run FILE --out {root}` first")
    return Store(root, create=False)

"""Rebuilding a run store's index from its run folders, which are the source of truth: a damaged or
emptied index.sqlite never hides the runs (tffnoise/runner/store.py calls this when it opens one)."""
from __future__ import annotations

import os
import sqlite3
import time

from tffnoise.runner.store import TABLE_SQL, FINISHED, insert_rows, parse_metrics, warn


def rebuild_index(store, why: str) -> None:
    """Replace a damaged or empty index by one rebuilt from the run folders; while another process is the
    store's live writer, keep it in this reader's memory only."""
    from tffnoise.runner.lock import holder, holder_alive

    rows = scan_runs(store)
    w = holder(store.root)
    store._memory = holder_alive(w) and w.get("pid") != os.getpid()
    if store._memory:
        con = store.connect()
        con.execute(f"CREATE TABLE runs ({TABLE_SQL})")
        insert_rows(con, rows)
        warn(f"{store.db_path}: {why}; read from the {len(rows)} run folders instead (it is rebuilt on disk "
             f"once {holder(store.root).get('pid')} stops writing)")
        return
    tmp = index_file_aside(store.root, rows)
    kept = store.root / "index.sqlite.damaged"
    if store.db_path.exists():
        os.replace(store.db_path, kept)
    for ext in ("-wal", "-shm"):  # a stale WAL must never be replayed onto the new file
        side = store.root / f"index.sqlite{ext}"
        if side.exists():
            os.replace(side, store.root / f"index.sqlite.damaged{ext}")
    os.replace(tmp, store.db_path)
    warn(f"{store.db_path}: {why}; rebuilt from the {len(rows)} run folders"
         + (f" (the old file is kept as {kept.name})" if kept.exists() else ""))


def index_file_aside(root, rows: list[dict]):
    """A whole index file (table and rows) written next to index.sqlite, for the caller to rename into place:
    a reader polling the store never opens an index without its table."""
    tmp = root / f".index.new-{os.getpid()}.sqlite"
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp, isolation_level=None)
    con.execute(f"CREATE TABLE runs ({TABLE_SQL})")
    con.execute("BEGIN")
    insert_rows(con, rows)
    con.execute("COMMIT")
    con.close()
    return tmp


def scan_runs(store) -> list[dict]:
    """An index row per run folder, from its run.json, summary.json, metrics.jsonl and checkpoint."""
    from tffnoise.config import config_from_dict
    from tffnoise.records.labels import index_row

    rows = []
    runs = store.root / "runs"
    for d in sorted(runs.iterdir()) if runs.is_dir() else []:
        meta = store.read_json(d.name, "run.json")
        if not d.is_dir() or not meta or "config" not in meta:
            if d.is_dir():
                warn(f"{d / 'run.json'}: missing or unreadable; run {d.name} is left out of the index")
            continue
        try:
            cfg = config_from_dict(meta["config"])
            labels = index_row(cfg, [tuple(x) for x in meta.get("overrides", [])], cfg.engine)
        except Exception:  # a config from another version: the run stays listed, unlabelled
            labels = {}
        summary = store.read_json(d.name, "summary.json") or {}
        final = summary.get("final") or {}
        hist, _ = parse_metrics((d / "metrics.jsonl").read_bytes()) if (d / "metrics.jsonl").exists() else ([], None)
        status = summary.get("status")
        if status in FINISHED:  # the round its history must reach, as finish_run records it
            rnd = final.get("diverged_round") if status == "diverged" else summary.get("rounds")
        else:
            status = "interrupted" if hist or (d / "checkpoint.npz").exists() else "pending"
            rnd = hist[-1].get("round", 0) if hist else 0
        rows.append({**labels, "run_id": d.name, "setting_id": meta.get("setting_id"), "repeat": meta.get("repeat"),
                     "status": status, "round": rnd, "rounds": summary.get("rounds"),
                     **{k: final.get(k) for k in ("test_accuracy", "test_loss", "val_accuracy",
                                                  "cumulative_train_loss", "epsilon", "mia_auc", "diverged_round")},
                     "wall_s": summary.get("wall_s"), "created": (d / "run.json").stat().st_mtime,
                     "updated": time.time(), "dir": str(d)})
    return rows

"""`tffnoise rerun RUN`: re-execute one finished run from its record alone and compare the metrics."""
from __future__ import annotations

import math
import time
from pathlib import Path

from tffnoise.errors import UserError

COMPARED = ("test_accuracy", "test_loss", "train_loss", "cumulative_train_loss", "val_accuracy")


def rerun(store_dir: str, run: str, out: str | None, emit) -> dict:
    from tffnoise.config import config_from_dict
    from tffnoise.config.sweep import RunSpec, run_id, setting_id
    from tffnoise.runner.cell import execute_cell
    from tffnoise.runner.store import Store, open_store
    from tffnoise.runner.sweep import dataset_for, register

    src = open_store(store_dir)
    row = src.get(run) or src.find(run)
    if row is None:
        raise UserError(f"run {run!r}: not in {store_dir} (see `tffnoise runs {store_dir}`)")
    meta = src.read_json(row["run_id"], "run.json") or {}
    original = (src.read_json(row["run_id"], "summary.json") or {}).get("final")
    if "config" not in meta:
        raise UserError(f"run {row['run_id']}: its run.json has no recorded config; cannot rerun")
    cfg = config_from_dict(meta["config"])
    out_dir = Path(out) if out else Path(store_dir) / "reruns" / f"{row['run_id']}-{int(time.time())}"
    cfg.out = str(out_dir)
    sid = setting_id(cfg)
    spec = RunSpec(run_id(sid, meta["repeat"]), sid, meta["repeat"], cfg, tuple(map(tuple, meta.get("overrides", []))))
    from tffnoise.algorithms import engine as engines
    from tffnoise.runner.lock import StoreLock

    engines.prepare([cfg])
    with StoreLock(out_dir):
        store = Store(out_dir)
        register(store, spec, {**meta, "rerun_of": row["run_id"]})  # the original's record, provenance included
        execute_cell([spec], store, cfg.engine, emit, dataset_for(cfg))
        new = (store.read_json(spec.run_id, "summary.json") or {}).get("final", {})
    diffs = {}
    for key in COMPARED:
        a, b = (original or {}).get(key), new.get(key)
        if a is not None and b is not None:
            diffs[key] = abs(a - b)
    same = bool(diffs) and all(d <= 1e-5 * max(1.0, abs((original or {}).get(k) or 0)) for k, d in diffs.items())
    return {"run_id": row["run_id"], "rerun_id": spec.run_id, "out": str(out_dir), "original": original,
            "rerun": new, "max_abs_diff": max(diffs.values()) if diffs else math.nan, "reproduced": same}

"""Records read from a run store: the index row, config.toml, metrics.jsonl and summary.json of each run
shaped into one dict, the one place `tffnoise report`, `tffnoise runs` and the TUI do it."""
from __future__ import annotations

import tomllib

from tffnoise.records.groups import clean_of
from tffnoise.runner.store import Store, warn


FINAL_KEYS = ("test_accuracy", "test_loss", "val_accuracy", "cumulative_train_loss", "epsilon", "mia_auc")


def make_record(row: dict, *, config: dict, history: list[dict], final: dict | None = None) -> dict:
    """One report record from a store index row, the run's config.toml (as a dict), its metrics.jsonl rows
    and its summary's final metrics (the index row's values fill what the summary lacks). The one place
    both `tffnoise report` and the TUI shape records."""
    final = dict(final or {})
    for key in FINAL_KEYS:
        final.setdefault(key, row.get(key))
    final["diverged_round"] = row.get("diverged_round")
    rec = {**row, "synthetic": bool(row.get("synthetic")), "distribution": row.get("distribution") or "",
           "level": row.get("level") or 0.0, "final": final, "config": config,
           "history": [h for h in history if not h.get("diverged")]}
    rec["clean_id"] = clean_of(rec)  # the clean reference setting's id, from the stored config
    return rec


def records_from_store(store: Store, rows: list[dict] | None = None) -> list[dict]:
    """Records of `rows` (index rows; default every run in the store)."""
    out = []
    for row in store.all() if rows is None else rows:
        rid = row["run_id"]
        summary = store.read_json(rid, "summary.json") or {}
        cfg_path = store.run_dir(rid) / "config.toml"
        try:
            config = tomllib.loads(cfg_path.read_text()) if cfg_path.exists() else {}
        except (OSError, ValueError):
            warn(f"{cfg_path}: unreadable; the run's config is left out of the report")
            config = {}
        history, problem = store.metrics_checked(rid, row)
        if problem:  # a part of a history would draw a curve that looks whole: leave it out, say so
            warn(f"{store.run_dir(rid) / 'metrics.jsonl'}: {problem}; run {rid}'s curves are left out "
                 "(the next `tffnoise run` reruns it)")
            history = []
        rec = make_record(row, config=config, history=history, final=summary.get("final"))
        rec["history_incomplete"] = problem
        out.append(rec)
    return out

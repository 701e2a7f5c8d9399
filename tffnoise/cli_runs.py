"""`tffnoise runs DIR`: the runs of a store as a table, or one run (`--show`) for a person or, with
`--json`, for a program. Reads the store and the records layer only: it answers without TensorFlow."""
from __future__ import annotations

import json

from tffnoise.errors import UserError


def cmd_runs(args) -> int:
    from tffnoise.cli_table import runs_table
    from tffnoise.records.load import records_from_store
    from tffnoise.runner.store import open_store

    store = open_store(args.dir)
    if args.show:
        return show_run(store, args.show, args.json)
    rows = store.all(args.status)
    if args.json:
        print(json.dumps(rows, indent=1, default=str))
    elif not rows:
        print(f"no runs{f' with status {args.status}' if args.status else ''} in {store.root}")
    else:
        print(runs_table(records_from_store(store), args.status))
    return 0


def run_details(store, run_id: str) -> dict:
    row = store.get(run_id) or store.find(run_id)
    if row is None:
        raise UserError(f"run {run_id!r}: not in {store.root} (see `tffnoise runs {store.root}`)")
    from tffnoise.runner.store import warn

    meta = store.read_json(row["run_id"], "run.json") or {}
    summary = store.read_json(row["run_id"], "summary.json") or {}
    hist, problem = store.metrics_checked(row["run_id"], row)
    if problem:
        warn(f"{store.run_dir(row['run_id']) / 'metrics.jsonl'}: {problem}")
    history = {"rounds": len(hist), "complete": problem is None, "problem": problem}
    return {"index": row, "run": meta, "summary": summary, "history": history}


def _value(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return "-" if v is None else str(v)


def describe(d: dict) -> str:
    """The run as a person reads it: what it is, how it ended, what it trained on, where its files are."""
    row, meta, summary, hist = d["index"], d["run"], d["summary"], d["history"]
    cfg = meta.get("config") or {}
    status = row["status"] + (f" at round {row['diverged_round']}" if row.get("diverged_round") else "")
    lines = [f"run {row['run_id']}  ({row.get('experiment') or '?'}, setting {row.get('setting_id')}, "
             f"repeat {row.get('repeat')})",
             f"  status    {status}, round {row.get('round') or 0}/{row.get('rounds') or '?'}"
             + (f", {row['wall_s']:.1f} s" if row.get("wall_s") else ""),
             f"  setup     {row.get('setup') or '-'}",
             "  noise     " + ("none" if row.get("mechanism") in (None, "none") else
                                  f"{row['mechanism']} {row.get('distribution') or ''} {_value(row.get('level'))}"),
             f"  engine    {row.get('engine')}, data {row.get('dataset')}"
             + ("  (SYNTHETIC)" if row.get("synthetic") else "")]
    if meta.get("overrides"):
        lines.append("  settings  " + ", ".join(f"{k}={v}" for k, v in meta["overrides"]))
    if row.get("error"):
        lines.append(f"  error     {row['error']}")
    final = summary.get("final") or {}
    shown = {k: v for k, v in final.items() if v is not None}
    if shown:
        lines.append("  final")
        lines += [f"    {k:28} {_value(v)}" for k, v in shown.items()]
    lines.append(f"  history   {hist['rounds']} rounds" + ("" if hist["complete"] else f", {hist['problem']}"))
    if cfg:
        t = cfg.get("training", {})
        lines.append(f"  training  {t.get('protocol')}, lr {t.get('learning_rate')}, batch {t.get('batch_size')}, "
                     f"seed {cfg.get('experiment', {}).get('seed')}")
    node = summary.get("node")  # a Ray sweep's cell: where it ran (docs/distributed.md)
    if node:
        lines.append(f"  node      {node.get('host')} {node.get('ip')} (Ray node {str(node.get('node_id'))[:12]})")
    prov = meta.get("provenance") or {}
    if prov:
        lines.append("  versions  " + ", ".join(f"{k} {v}" for k, v in (prov.get("versions") or {}).items()))
    lines.append(f"  files     {row.get('dir')}")
    return "\n".join(lines)


def show_run(store, run_id: str, as_json: bool = False) -> int:
    d = run_details(store, run_id)
    print(json.dumps(d, indent=2, default=str) if as_json else describe(d))
    return 0

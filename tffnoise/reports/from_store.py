"""`tffnoise report DIR`: turn a run store into records, then figures, a summary and TensorBoard events."""
from __future__ import annotations

from pathlib import Path

from tffnoise.records.load import records_from_store
from tffnoise.runner.store import open_store


def report_store(root: str | Path, out: str | Path | None = None) -> list[str]:
    from tffnoise.reports.build import build_report
    from tffnoise.reports.tensorboard import write_run_events

    store = open_store(root)
    records = records_from_store(store)
    out_dir = Path(out) if out else Path(root) / "report"
    result = build_report(records, out_dir)
    for rec in records:
        if rec["history"]:
            hp = {"setup": rec["setup"], "mechanism": rec["mechanism"], "distribution": rec["distribution"],
                  "level": rec["level"], "repeat": rec["repeat"], "synthetic": rec["synthetic"]}
            write_run_events(store.run_dir(rec["run_id"]) / "tensorboard", rec["history"], hp)
    store.close()
    return [*result["figures"], result["summary"]]

"""Reports over run records: grouping, Markdown tables, matplotlib figures, TensorBoard event files.

Light to import: matplotlib is loaded only when figures are drawn, TensorFlow never.
"""

from __future__ import annotations

__all__ = ["build_report", "write_run_events"]


def __getattr__(name: str):
    if name == "build_report":
        from tffnoise.reports.build import build_report

        return build_report
    if name == "write_run_events":
        from tffnoise.reports.tensorboard import write_run_events

        return write_run_events
    raise AttributeError(f"module 'tffnoise.reports' has no attribute {name!r}")

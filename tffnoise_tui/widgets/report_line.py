"""The Results screen's report line: where the report is, and making it with a `tffnoise report`
subprocess (progress shown as it prints), then opening its summary."""
from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from rich.text import Text
from textual import work
from textual.widgets import Static

from tffnoise_tui.report_job import report_command, run_report, summary_path


def find_report(store_root: Path, row: dict | None) -> tuple[Path, list[Path]]:
    d = Path(store_root) / "report"
    pngs = sorted(d.glob("**/*.png")) if d.is_dir() else []
    if row is not None and pngs:
        slug = "".join(c if c.isalnum() else "-" for c in str(row.get("setup") or "").lower()).strip("-")
        mine = [p for p in pngs if slug and slug in p.name.lower()]
        pngs = mine + [p for p in pngs if p not in mine]
    return d, pngs


class ReportLine(Static):
    def __init__(self, **kw):
        super().__init__("", **kw)
        self.state: str | None = None  # None, "running", "done", "failed"
        self.lines: list[str] = []
        self.opened: list[str] = []
        self._t0 = 0.0

    def show(self, row: dict | None, line: str = "") -> None:
        app = self.app
        if self.state == "running":
            self.update(Text.assemble(("report ", "bold"), ("making… ", "yellow"), line))
            return
        d, pngs = find_report(app.store_root, row)
        if pngs:
            self.update(Text.assemble((f"report ({len(pngs)} PNG: o opens, v summary) ", "bold"),
                                      app.display_path(pngs[0])))
        else:
            self.update(Text.assemble(("report ", "bold"), "none yet: G makes it (",
                                      (f"tffnoise report {app.display_path(app.store_root)}", "italic"), ")"))

    def make(self) -> None:
        if self.state == "running":
            self.app.notify("the report is being made", severity="warning")
            return
        self.state, self.lines, self._t0 = "running", [], time.monotonic()
        self._tick()
        self._timer = self.set_interval(0.5, self._tick)  # the elapsed time moves between output lines too
        self._worker(Path(self.app.store_root))

    def _tick(self) -> None:
        if self.state == "running":
            last = self.lines[-1][-60:] if self.lines else "`tffnoise report` reading the store, drawing figures"
            self.show(None, f"{time.monotonic() - self._t0:.0f}s · {last}")

    @work(thread=True, exclusive=True, group="report")
    def _worker(self, root: Path) -> None:
        def on_line(line: str) -> None:
            self.lines.append(line)
            self.app.call_from_thread(self._tick)

        rc = run_report(getattr(self.app, "report_command", report_command)(root), on_line)
        self.app.call_from_thread(self._done, rc)

    def _done(self, rc: int) -> None:
        self.state = "done" if rc == 0 else "failed"
        self._timer.stop()
        self.show(None)
        if rc != 0:
            self.app.notify(f"tffnoise report failed (exit {rc}): {self.lines[-1] if self.lines else ''}",
                            severity="error")
            return
        self.app.notify(f"report written: {self.app.display_path(summary_path(self.app.store_root).parent)}")
        self.view_summary()

    def view_summary(self) -> None:
        from tffnoise_tui.screens.summary import SummaryScreen

        path = summary_path(self.app.store_root)
        if not path.exists():
            self.app.notify(f"no report yet: G makes it ({path})", severity="warning")
            return
        self.app.push_screen(SummaryScreen(path))

    def open(self, row: dict | None) -> None:
        d, pngs = find_report(self.app.store_root, row)
        target = pngs[0] if pngs else d
        if not pngs and not d.exists():
            self.app.notify(f"no report yet: G makes it ({d})", severity="warning")
            return
        opener = shutil.which("xdg-open") if self.app.allow_open else None
        if opener:
            subprocess.Popen([opener, str(target)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             stdin=subprocess.DEVNULL, start_new_session=True)
            self.app.notify(f"opening {target}")
        else:
            self.app.notify(f"report: {target}", timeout=8)
        self.opened.append(str(target))

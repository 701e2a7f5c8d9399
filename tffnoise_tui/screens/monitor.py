"""Monitor: the running (or last) sweep: per-run progress, curves, ETA, divergence, launch log tail."""
from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Log, Static

from tffnoise_tui.launcher import RUNNING, STOPPED, LogTail
from tffnoise_tui.store_reader import StoreReader, SweepEta, fmt_eta, status_counts, sweep_progress
from tffnoise_tui.widgets.curves import Curves
from tffnoise_tui.widgets.run_table import RunTable


STARTING = "starting runner (loading TensorFlow)…"


class SweepState:
    """What the launch log's events say about the sweep."""

    def __init__(self):
        self.total: int | None = None
        self.finished = 0
        self.synthetic = False
        self.dataset = ""
        self.diverged: dict[str, int | None] = {}
        self.failed: dict[str, str] = {}
        self.finished_status: dict | None = None
        self.run_ids: set[str] = set()  # the runs this sweep has started (named by its events)

    def apply(self, ev: dict) -> None:
        kind = ev.get("event")
        self.run_ids.update(ev.get("runs") if isinstance(ev.get("runs"), list) else [])
        if ev.get("run_id"):
            self.run_ids.add(ev["run_id"])
        if kind == "sweep_started":
            self.total, self.finished = ev.get("runs"), ev.get("finished", 0) or 0
            self.finished_status, self.run_ids = None, set()
        elif kind == "cell_started":
            self.synthetic = self.synthetic or bool(ev.get("synthetic"))
            self.dataset = ev.get("dataset") or self.dataset
        elif kind == "run_finished":
            self.finished += 1
            self.synthetic = self.synthetic or bool(ev.get("synthetic"))
            if ev.get("status") == "diverged":
                self.diverged.setdefault(ev["run_id"], (ev.get("final") or {}).get("diverged_round"))
        elif kind == "diverged":
            self.diverged[ev["run_id"]] = ev.get("round")
        elif kind == "run_failed":
            self.finished += 1
            self.failed[ev.get("run_id", "?")] = ev.get("error", "")
        elif kind == "sweep_finished":
            self.finished_status = ev.get("status") or {}
            self.synthetic = self.synthetic or bool(ev.get("synthetic"))


def this_sweep(rows: list[dict], st: SweepState) -> list[dict]:
    """The rows of the sweep the log describes: the runs its events named, and any run `running` (a store has
    one writer at a time, its lock), remembered when they stop. All rows when no sweep started in the log."""
    if st.total is None:
        return rows
    st.run_ids.update(r["run_id"] for r in rows if r.get("status") == "running")  # still its own once stopped
    return [r for r in rows if r["run_id"] in st.run_ids]


def sweep_fraction(rows: list[dict], st: SweepState) -> float:
    """Done share of the sweep the log describes: its finished runs (those finished before it started too)
    plus the rounds of its running ones, over its size; older sweeps' rows do not count."""
    if not st.total:
        return sweep_progress(rows)
    running = sum(min(1.0, (r.get("round") or 0) / r["rounds"]) for r in rows
                  if r.get("status") == "running" and r.get("rounds"))
    return min(1.0, (min(st.finished, st.total) + running) / st.total)


def bar(frac: float, width: int = 14) -> str:
    n = max(0, min(width, round(frac * width)))
    return "█" * n + "░" * (width - n)


class MonitorScreen(Screen):
    BINDINGS = [
        Binding("x", "cancel", "Cancel sweep", tooltip="press twice; SIGTERM to its process group"),
        Binding("R", "resume", "Relaunch/resume", tooltip="finished runs are kept, the rest resume from checkpoints"),
        Binding("a", "toggle_all", "All runs", tooltip="this sweep's runs (default) or every run of the store"),
        Binding("g", "refresh", "Refresh", show=False),
    ]

    def __init__(self, **kw):
        super().__init__(**kw)
        self.job = None
        self.tail: LogTail | None = None
        self.state = SweepState()
        self.sweep_eta = SweepEta()
        self.reader: StoreReader | None = None
        self.rows: list[dict] = []
        self.all_rows: list[dict] = []
        self.show_all = False
        self._root: Path | None = None
        self._cancel_armed = 0.0

    def compose(self) -> ComposeResult:
        yield Static("Monitor", id="title", classes="title")
        yield Static("", id="sweep")
        yield Static("", id="synthetic")
        yield Static("", id="diverged")
        with Vertical(id="mon-body"):
            yield RunTable(id="runs")
            yield Curves(id="curves")
        yield Log(id="log", max_lines=500, auto_scroll=True)
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_now()
        self.set_interval(self.app.poll_interval, self._tick)

    def _tick(self) -> None:
        if self.is_current:  # the app itself keeps the launcher queue going meanwhile
            self.refresh_now()

    def on_screen_resume(self) -> None:
        self.refresh_now()

    # --- polling ----------------------------------------------------------------------------------
    def _follow(self) -> None:
        launcher = self.app.launcher
        launcher.poll()
        job = launcher.latest()
        store = Path(self.app.store_root).resolve()
        if job is not None and Path(job.out).resolve() != store:
            job = None  # another store was opened (F6): show it, not the sweep elsewhere
        root = Path(job.out) if job is not None else store
        if job is not self.job or (job is None and (self.tail is None or self._root != root)):
            self._root = root
            self.job = job
            log = job.log if job else None
            if job is None:  # nothing launched from here: show the store's newest launch log
                logs = StoreReader(root).launch_logs()
                log = logs[-1] if logs else None
            self.tail = LogTail(log)
            self.state = SweepState()
            self.sweep_eta = SweepEta()
            self.query_one("#log", Log).clear()
            if job is not None and job.state == RUNNING:  # the runner says nothing until TensorFlow is imported
                self.query_one("#log", Log).write_line(STARTING)
        elif job is not None and self.tail is not None and self.tail.path != (Path(job.log) if job.log else None):
            self.tail = LogTail(job.log)
        if self.reader is None or self.reader.root != Path(root):
            if self.reader is not None:
                self.reader.close()
            self.reader = StoreReader(root, clock=self.app.clock)

    def refresh_now(self) -> None:
        self._follow()
        log = self.query_one("#log", Log)
        if self.tail is not None:
            for ev in self.tail.read():
                self.state.apply(ev)
            if self.tail.added:  # counted per read: the tail's buffer is capped, the log is not
                log.write_lines(self.tail.added)
        self.all_rows = self.reader.rows() if self.reader else []
        if self.job is not None and self.job.state in STOPPED and Path(self.job.out).resolve() == self.reader.root.resolve():
            for r in self.all_rows:  # the store's one writer was stopped: what it was running is interrupted
                if r.get("status") == "running":  # now, before its process is gone and the store says so too
                    r["status"] = "interrupted"
        self.rows = self.all_rows if self.show_all else this_sweep(self.all_rows, self.state)
        self._render_header()
        table = self.query_one("#runs", RunTable)
        table.set_rows(self.rows, self.reader.eta if self.reader else (lambda r: None))
        self._render_curves()

    def _render_header(self) -> None:
        job, st, rows = self.job, self.state, self.rows
        root = self.reader.root if self.reader else self.app.store_root
        scope = ("all runs" if self.show_all or st.total is None else "this sweep") + (
            f" ({len(rows)} of {len(self.all_rows)}, a toggles)" if st.total is not None else "")
        self.query_one("#title", Static).update(f"Monitor  {escape(self.app.display_path(root))}  · {scope}")
        counts = status_counts(rows)
        finished = sum(counts.get(k, 0) for k in ("done", "diverged", "failed"))
        total = len(rows)
        if st.total is not None:
            total, finished = st.total, min(st.total, max(st.finished, 0))
        frac = sweep_fraction(this_sweep(self.all_rows, st), st)
        state = job.state if job else ("running" if counts.get("running") else
                                       "interrupted" if counts.get("interrupted") else "idle")
        eta = None
        if job is not None and job.active:
            eta = self.sweep_eta.eta(self.app.clock(), frac)
        queue = len(self.app.launcher.queued)
        name = escape(job.name) if job else "no launch"
        color = {"running": "yellow", "attached": "yellow", "done": "green", "failed": "red", "cancelled": "red",
                 "interrupted": "magenta", "user error": "red"}.get(state, "white")
        if job is not None and job.state == RUNNING and st.total is None:  # no sweep_started yet: the store's
            text = f"[b yellow]starting[/] {name}  {STARTING}"  # older runs would pass for this sweep's
        else:
            text = f"[b {color}]{state}[/] {name}  runs {finished}/{total} {bar(frac)} {frac:4.0%}  ETA {fmt_eta(eta)}"
        text += f"  queue {queue}" if queue else ""
        if job is not None and job.state in ("failed", "user error") and self.tail and self.tail.lines:
            text += f"\n[red]{escape(self.tail.lines[-1])}[/]"
        self.query_one("#sweep", Static).update(text)
        synthetic = st.synthetic or any(r.get("synthetic") for r in rows)
        syn = self.query_one("#synthetic", Static)
        syn.display = synthetic
        if synthetic:
            syn.update("[b reverse yellow] SYNTHETIC DATA [/] [yellow]these runs use a synthetic stand-in, "
                       "not the real dataset[/]")
        diverged = dict(st.diverged)
        for r in rows:
            if r.get("status") == "diverged":
                diverged.setdefault(r["run_id"], r.get("diverged_round") or r.get("round"))
        div = self.query_one("#diverged", Static)
        div.display = bool(diverged)
        if diverged:
            items = ", ".join(f"{rid[:8]} at round {rnd}" for rid, rnd in list(diverged.items())[:3])
            more = f" (+{len(diverged) - 3})" if len(diverged) > 3 else ""
            div.update(f"[b white on red] DIVERGED [/] [b red]{len(diverged)} run(s): {items}{more}[/]")

    def _render_curves(self) -> None:
        table = self.query_one("#runs", RunTable)
        rid = table.selected_id()
        curves = self.query_one("#curves", Curves)
        row = next((r for r in self.rows if r["run_id"] == rid), None)
        if row is None or self.reader is None:
            curves.show([], "no run selected")
            return
        hist = self.reader.metrics(rid)
        div = row.get("diverged_round") if row.get("status") == "diverged" else self.state.diverged.get(rid)
        if div is None:
            div = next((h.get("round") for h in hist if h.get("diverged")), None)
        curves.show(hist, f"{rid[:8]} r{row.get('round') or 0}/{row.get('rounds') or '?'}", div, row.get("rounds"))

    @on(DataTable.RowHighlighted, "#runs")
    def _highlight(self, event) -> None:
        self._render_curves()

    # --- actions ----------------------------------------------------------------------------------
    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self.refresh_now()

    def action_refresh(self) -> None:
        self.refresh_now()

    def action_cancel(self) -> None:
        import time

        launcher = self.app.launcher
        if launcher.current is None and not launcher.queued:
            self.notify("nothing is running", severity="warning")
            return
        now = time.monotonic()
        if now - self._cancel_armed > 3.0:  # a second `x` within 3 s confirms
            self._cancel_armed = now
            target = launcher.current or launcher.queued[0]
            self.notify(f"press x again to cancel {target.name}", severity="warning", timeout=3)
            return
        self._cancel_armed = 0.0
        job = launcher.cancel()
        if job is None:
            self.notify("nothing is running", severity="warning")
        else:
            self.notify(f"cancelled {job.name} (SIGTERM to its process group); R relaunches and resumes")
        self.refresh_now()

    def action_resume(self) -> None:
        from tffnoise_tui.launcher import Job

        job = self.job
        if job is None or not job.config or str(job.config) in ("", "."):
            self.notify("no launch to resume here; launch from Configure (ctrl+r)", severity="warning")
            return
        if job.active:
            self.notify("it is still running", severity="warning")
            return
        self.app.launcher.submit(Job(config=job.config, out=job.out, preset=job.preset,
                                     overrides=list(job.overrides)))
        self.notify(f"relaunched {job.name}: finished runs are kept, the rest resume from checkpoints")
        self.refresh_now()

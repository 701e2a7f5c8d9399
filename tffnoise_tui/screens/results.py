"""Results: the store's runs (structured filter, sort, export), box plots per group, PoS / PoA / SNR, the DP
view, curves of several runs, and the report (made by a `tffnoise report` subprocess)."""
from __future__ import annotations

import math
from pathlib import Path

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static, TabbedContent, TabPane

from tffnoise.records.groups import Grouping
from tffnoise_tui import filters
from tffnoise_tui.store_reader import StoreReader
from tffnoise_tui.widgets.boxplot import BoxPlot
from tffnoise_tui.widgets.dp_view import DpView
from tffnoise_tui.widgets.report_line import ReportLine, find_report  # noqa: F401 (find_report: tests)
from tffnoise_tui.widgets.results_table import RUN_COLUMNS, ResultsTable, export_rows, header, sort_rows
from tffnoise_tui.widgets.run_curves import RunCurves
from tffnoise_tui.widgets.run_table import fmt

FILTER_HINT = "/ filter: noise.weights.level=0.5 status=done test_accuracy>0.8 gaussian"


def stability_rows(records: list[dict]) -> tuple[Grouping, list[dict]]:
    """The report's own grouping and statistics (`tffnoise report` computes the same rows)."""
    from tffnoise.metrics.stability import stability_table

    grouping = Grouping(records)
    return grouping, stability_table(grouping)


class ResultsScreen(Screen):
    BINDINGS = [
        Binding("slash", "focus_filter", "Filter", tooltip="KEY=VALUE, KEY>VALUE, KEY<VALUE terms and words, ANDed"),
        Binding("s", "sort_next", "Sort", tooltip="by the next column (or click a header)"),
        Binding("S", "sort_reverse", "Reverse", show=False),
        Binding("space", "mark", "Mark run", show=False, tooltip="marked runs are overlaid on the curves tab"),
        Binding("k", "metric", "Metric", show=False, tooltip="curves: the next per-round metric"),
        Binding("w", "smooth", "Smooth", show=False, tooltip="curves: smoothing off, EMA 0.6, EMA 0.9"),
        Binding("e", "export", "Export", tooltip="the visible table to STORE/exports/*.csv and *.md"),
        Binding("G", "make_report", "Make report", tooltip="runs tffnoise report STORE, then shows its summary"),
        Binding("v", "view_summary", "Summary", show=False, tooltip="the report's summary.md"),
        Binding("o", "open_report", "Open PNG", show=False, tooltip="the report figure of the run's setup (xdg-open)"),
        Binding("g", "reload", "Reload", show=False),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self, **kw):
        super().__init__(**kw)
        self.records: list[dict] = []
        self.grouping = Grouping([])
        self.sort_col, self.sort_rev = "created", False
        self.query_ = filters.Query()
        self.parse_error = ""  # the filter box's text does not parse: said until it does
        self.filter_error = ""
        self.marked: set[str] = set()
        self.exported: list[Path] = []
        self.stats_ready = False

    def compose(self) -> ComposeResult:
        yield Static("Results", id="title", classes="title")
        with TabbedContent(id="tabs"):
            with TabPane("runs", id="tab-runs"):
                yield Input(placeholder=FILTER_HINT, id="filter", compact=True)
                yield Static("", id="note")
                yield ResultsTable(id="results-table", cursor_type="row", zebra_stripes=True)
                yield ReportLine(id="report")
            with TabPane("curves", id="tab-curves"):
                yield RunCurves(id="overlay")
            with TabPane("box plots", id="tab-box"):
                with VerticalScroll():
                    yield BoxPlot(id="boxes")
            with TabPane("PoS/PoA/SNR", id="tab-pos"):
                yield Static("", id="pos-source")
                yield DataTable(id="pos-table", cursor_type="row")
            with TabPane("DP", id="tab-dp"):
                yield DpView(id="dp")
        yield Footer()

    def on_mount(self) -> None:
        self.reload()

    def on_screen_resume(self) -> None:
        self.reload()

    # --- data -------------------------------------------------------------------------------------
    def reload(self) -> None:
        root = self.app.display_path(self.app.store_root)
        reader = StoreReader(self.app.store_root)
        try:
            self.records = reader.records()
        finally:
            reader.close()
        self.grouping = Grouping(self.records)
        self.query_one("#title", Static).update(
            f"Results  {escape(str(root))}  ({len(self.records)} runs)" if reader.exists
            else f"Results  {escape(str(root))}  [yellow]no run store here yet[/]")
        self.fill_runs()
        self.query_one("#dp", DpView).show(self.records, self.grouping)
        # The statistics import numpy/scipy (tffnoise.metrics): do that off the UI thread so the
        # screen shows at once; box plots and the PoS table fill in when it is done.
        self.stats_ready = False
        self.query_one("#pos-source", Static).update("computing statistics…")
        self.run_worker(self._stats_worker, thread=True, exclusive=True, group="stats")

    def _stats_worker(self) -> None:
        records = self.records
        grouping, rows = stability_rows(records)
        import tffnoise.metrics.boxstats  # noqa: F401  (warm the import for the box plots)

        self.app.call_from_thread(self._stats_done, records, grouping, rows)

    def _stats_done(self, records, grouping, rows) -> None:
        if records is not self.records:
            return  # a newer reload is on its way
        self.fill_boxes(grouping)
        self.fill_pos(rows)
        self.stats_ready = True

    def label(self, r: dict) -> str:
        """What free filter words match: the setting's setup and group label, nothing else."""
        return f"{r.get('setup') or ''} {self.grouping.key(r).label()}"

    def visible(self) -> list[dict]:
        return sort_rows(filters.apply(self.query_, self.records, self.label), self.sort_col, self.sort_rev)

    def fill_runs(self) -> None:
        try:
            rows = self.visible()
            self.filter_error = ""
        except filters.FilterError as exc:
            rows, self.filter_error = [], str(exc)
        t = self.query_one("#results-table", ResultsTable)
        t.show(rows, self.sort_col, self.sort_rev, self.marked)
        note = Text(f"{len(rows)} of {len(self.records)} shown · sort {header(self.sort_col)} "
                    f"{'▼' if self.sort_rev else '▲'}" + (f" · {len(self.marked)} marked" if self.marked else ""))
        if self.parse_error or self.filter_error:
            note = Text(f"filter: {self.parse_error or self.filter_error}", style="bold red")
        self.query_one("#note", Static).update(note)
        self._show_report()
        self.fill_curves()

    def fill_boxes(self, grouping: Grouping) -> None:
        lines: list = []
        for setup in grouping.setups:
            keys = [k for k in grouping.groups if k.setup == setup]
            if keys:
                lines.append((("setup: " + setup) if setup else "(no setup)", None))
            lines += [(k.label(), [r["final"].get("test_accuracy") for r in grouping.groups[k]]) for k in keys]
        self.query_one("#boxes", BoxPlot).set_groups(lines)

    def fill_pos(self, rows: list[dict]) -> None:
        self.query_one("#pos-source", Static).update(
            "PoS = acc(σ)/acc(clean) (>1 noise helped) · PoA = loss(σ)/loss(clean) (>1 hurt) · SNR: paper 2, "
            "paired by seed · Δ: paired test accuracy difference, ≈ = 95% CI contains 0 [dim](as tffnoise report)[/]")
        t = self.query_one("#pos-table", DataTable)
        t.clear(columns=True)
        for c in ("setup", "group", "n", "acc", "PoS", "PoA", "SNR dB", "Δ"):
            t.add_column(c, key=c)
        for r in rows:
            snr = r.get("snr_db")
            snr_s = "n/a" if snr is None or math.isnan(snr) else f"{snr:.1f}"
            same = {True: " ≈", False: "", None: ""}[r.get("indistinguishable")]
            diff = "" if r["key"].is_clean or not r.get("diff_n") else f"{r['diff_mean']:+.3f}{same}"
            t.add_row(str(r.get("setup", ""))[:22], r["key"].label(), str(r.get("n", "")),
                      fmt(r.get("test_accuracy")), fmt(r.get("pos")), fmt(r.get("poa")), snr_s, diff)

    # --- curves and report -----------------------------------------------------------------------
    def fill_curves(self) -> None:
        """The marked runs, else every repeat of the highlighted run's setting (with a mean and band)."""
        if self.marked:
            runs, of = [r for r in self.records if r["run_id"] in self.marked], None
        else:
            row = self.selected()
            key = self.grouping.key(row) if row else None
            runs = [r for r in self.records if self.grouping.key(r) == key] if row else []
            of = key.label() if row else None
        self.query_one("#overlay", RunCurves).draw(self.app.store_root, runs, of)

    def selected(self) -> dict | None:
        rid = self.query_one("#results-table", ResultsTable).selected_id()
        return next((r for r in self.records if r["run_id"] == rid), None)

    def _show_report(self) -> None:
        self.query_one("#report", ReportLine).show(self.selected())

    @property
    def opened(self) -> list[str]:
        return self.query_one("#report", ReportLine).opened

    def action_make_report(self) -> None:
        self.query_one("#report", ReportLine).make()

    def action_view_summary(self) -> None:
        self.query_one("#report", ReportLine).view_summary()

    def action_open_report(self) -> None:
        self.query_one("#report", ReportLine).open(self.selected())

    # --- events and keys --------------------------------------------------------------------------
    @on(DataTable.RowHighlighted, "#results-table")
    def _row(self, event) -> None:
        self._show_report()
        if not self.marked:
            self.fill_curves()

    @on(DataTable.HeaderSelected, "#results-table")
    def _header(self, event: DataTable.HeaderSelected) -> None:
        col = str(event.column_key.value)
        self.sort_rev = (not self.sort_rev) if col == self.sort_col else self.sort_rev
        self.sort_col = col
        self.fill_runs()

    @on(Input.Changed, "#filter")
    def _filter(self, event: Input.Changed) -> None:
        try:
            self.query_, self.parse_error = filters.parse(event.value), ""
        except filters.FilterError as exc:
            self.parse_error = str(exc)  # kept: a reload or a sort must not hide it behind the old filter's rows
        self.fill_runs()

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event) -> None:
        self.query_one("#results-table", ResultsTable).focus()

    def action_focus_filter(self) -> None:
        self.query_one("#tabs", TabbedContent).active = "tab-runs"
        self.query_one("#filter", Input).focus()

    def action_clear_filter(self) -> None:
        self.query_one("#filter", Input).value = ""
        self.query_one("#results-table", ResultsTable).focus()

    def action_sort_next(self) -> None:
        i = RUN_COLUMNS.index(self.sort_col) + 1 if self.sort_col in RUN_COLUMNS else 0
        self.sort_col = RUN_COLUMNS[i % len(RUN_COLUMNS)]
        self.fill_runs()

    def action_sort_reverse(self) -> None:
        self.sort_rev = not self.sort_rev
        self.fill_runs()

    def action_mark(self) -> None:
        rid = self.query_one("#results-table", ResultsTable).selected_id()
        if rid:
            self.marked ^= {rid}
            self.fill_runs()

    def action_metric(self) -> None:
        self.query_one("#overlay", RunCurves).next_metric()
        self.fill_curves()

    def action_smooth(self) -> None:
        self.query_one("#overlay", RunCurves).next_smoothing()
        self.fill_curves()

    def action_export(self) -> None:
        from tffnoise_tui.export import export_table

        try:
            rows = self.visible()
        except filters.FilterError as exc:
            self.notify(f"filter: {exc}", severity="error")
            return
        headers, cells = export_rows(rows)
        self.exported = export_table(Path(self.app.store_root) / "exports", "results", headers, cells,
                                     clock=self.app.clock)
        shown = " and ".join(self.app.display_path(p) for p in self.exported)
        self.query_one("#note", Static).update(Text(f"exported {len(rows)} rows to {shown}", style="green"))
        self.notify(f"exported {len(rows)} rows: {shown}")

    def action_reload(self) -> None:
        self.reload()

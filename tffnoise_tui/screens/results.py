"""Results: the store's runs (filter, sort), box plots per group, PoS / PoA / SNR, the DP view, reports."""
from __future__ import annotations

import math
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static, TabbedContent, TabPane

from textual_plotext import PlotextPlot

from tffnoise.records.groups import Grouping
from tffnoise_tui.store_reader import StoreReader
from tffnoise_tui.widgets.boxplot import BoxPlot
from tffnoise_tui.widgets.run_table import fmt, status_text

RUN_COLUMNS = ("run_id", "status", "setup", "mechanism", "distribution", "level", "repeat", "test_accuracy",
               "test_loss", "epsilon", "mia_auc", "round")
HEADERS = {"run_id": "run", "mechanism": "mech", "distribution": "dist", "repeat": "rep", "test_accuracy": "acc",
           "test_loss": "loss", "epsilon": "ε", "mia_auc": "MIA AUC"}


def stability_rows(records: list[dict]) -> tuple[Grouping, list[dict]]:
    """The report's own grouping and statistics (`tffnoise report` computes the same rows)."""
    from tffnoise.metrics.stability import stability_table

    grouping = Grouping(records)
    return grouping, stability_table(grouping)


def _mean(vals) -> float:
    """Mean of the numbers given (an infinite ε stays infinite); nan when there is none."""
    v = [float(x) for x in vals if isinstance(x, (int, float)) and not math.isnan(float(x))]
    return sum(v) / len(v) if v else math.nan


def _num(v: float, spec: str = ".3f") -> str:
    """A table cell: "–" for no value (never `nan`), "∞" for an unbounded ε."""
    if v is None or math.isnan(v):
        return "–"
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    return fmt(v, spec)


def find_report(store_root: Path, row: dict | None) -> tuple[Path, list[Path]]:
    d = Path(store_root) / "report"
    pngs = sorted(d.glob("**/*.png")) if d.is_dir() else []
    if row is not None and pngs:
        slug = "".join(c if c.isalnum() else "-" for c in str(row.get("setup") or "").lower()).strip("-")
        mine = [p for p in pngs if slug and slug in p.name.lower()]
        pngs = mine + [p for p in pngs if p not in mine]
    return d, pngs


class ResultsScreen(Screen):
    BINDINGS = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("s", "sort_next", "Sort col"),
        Binding("S", "sort_reverse", "Reverse"),
        Binding("o", "open_report", "Open report"),
        Binding("g", "reload", "Reload"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self, **kw):
        super().__init__(**kw)
        self.records: list[dict] = []
        self.sort_col = "created"
        self.sort_rev = False
        self.filter_text = ""
        self.opened: list[str] = []
        self.stats_ready = False

    def compose(self) -> ComposeResult:
        yield Static("Results", id="title", classes="title")
        with TabbedContent(id="tabs"):
            with TabPane("runs", id="tab-runs"):
                yield Input(placeholder="/ filter: words match any column (e.g. gaussian done)", id="filter",
                            compact=True)
                yield DataTable(id="results-table", cursor_type="row", zebra_stripes=True)
                yield Static("", id="report")
            with TabPane("box plots", id="tab-box"):
                with VerticalScroll():
                    yield BoxPlot(id="boxes")
            with TabPane("PoS/PoA/SNR", id="tab-pos"):
                yield Static("", id="pos-source")
                yield DataTable(id="pos-table", cursor_type="row")
            with TabPane("DP", id="tab-dp"):
                yield Static("", id="dp-note")
                yield DataTable(id="dp-table", cursor_type="row")
                yield PlotextPlot(id="dp-plot")
        yield Footer()

    def on_mount(self) -> None:
        t = self.query_one("#results-table", DataTable)
        for c in RUN_COLUMNS:
            t.add_column(HEADERS.get(c, c), key=c)
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
        n = len(self.records)
        self.query_one("#title", Static).update(
            f"Results  {escape(str(root))}  ({n} runs)" if reader.exists
            else f"Results  {escape(str(root))}  [yellow]no run store here yet[/]")
        self.fill_runs()
        self.fill_dp()
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

    def visible(self) -> list[dict]:
        words = self.filter_text.lower().split()
        rows = [r for r in self.records
                if all(any(w in str(v).lower() for v in r.values() if not isinstance(v, (dict, list))) for w in words)]

        def key(r):
            v = r.get(self.sort_col)
            return (v if isinstance(v, (int, float)) else 0, "" if isinstance(v, (int, float)) else str(v))

        valued = [r for r in rows if r.get(self.sort_col) is not None]
        empty = [r for r in rows if r.get(self.sort_col) is None]  # always last, whatever the direction
        return sorted(valued, key=key, reverse=self.sort_rev) + empty

    def fill_runs(self) -> None:
        t = self.query_one("#results-table", DataTable)
        t.clear()
        for r in self.visible():
            cells = []
            for c in RUN_COLUMNS:
                v = r.get(c)
                if c == "run_id":
                    cells.append(str(v)[:8])
                elif c == "status":
                    cells.append(status_text(r))
                elif c in ("test_accuracy", "test_loss", "mia_auc"):
                    cells.append(fmt(v))
                elif c == "epsilon":
                    cells.append(fmt(v, ".2f"))
                elif c == "level":
                    cells.append(fmt(v, "g"))
                elif c == "round":
                    cells.append(f"{v or 0}/{r.get('rounds') or '?'}")
                else:
                    cells.append(str(v if v is not None else "–")[:22])
            t.add_row(*cells, key=r["run_id"])
        arrow = "↓" if self.sort_rev else "↑"
        self.query_one("#filter", Input).placeholder = (
            f"/ filter · sorted by {HEADERS.get(self.sort_col, self.sort_col)} {arrow} · {t.row_count} shown")
        self._show_report()

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

    def fill_dp(self) -> None:
        dp = [r for r in self.records if r.get("epsilon") is not None or r.get("mia_auc") is not None]
        t = self.query_one("#dp-table", DataTable)
        t.clear(columns=True)
        note = self.query_one("#dp-note", Static)
        plot = self.query_one("#dp-plot", PlotextPlot)
        plot.display = bool(dp)
        if not dp:
            note.update("no runs with ε or MIA AUC in this store (set privacy.mode = 'dp-sgd' or 'dp-fedavg')")
            return
        note.update("lower ε = stronger privacy · MIA AUC near 0.5 = the attack fails")
        for c in ("group", "n", "acc", "ε", "MIA AUC"):
            t.add_column(c, key=c)
        grouping = Grouping(self.records)
        groups: dict = defaultdict(list)
        for r in dp:
            groups[grouping.key(r)].append(r)
        rows = []
        one_setup = len({k.setup for k in groups}) == 1
        for k, runs in groups.items():
            rows.append((k.label() if one_setup else f"{k.setup} · {k.label()}", len(runs),
                         _mean(r.get("test_accuracy") for r in runs), _mean(r.get("epsilon") for r in runs),
                         _mean(r.get("mia_auc") for r in runs)))
        rows.sort(key=lambda x: (math.isnan(x[3]), -x[3] if not math.isnan(x[3]) else 0))
        for label, n, acc, eps, auc in rows:
            t.add_row(label[:36], str(n), _num(acc), _num(eps, ".2f"), _num(auc))
        # accuracy (left axis) and MIA AUC (right axis) against ε, one point per run
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        pts = [(float(r["epsilon"]), r.get("test_accuracy"), r.get("mia_auc")) for r in dp
               if isinstance(r.get("epsilon"), (int, float)) and math.isfinite(r["epsilon"])]
        acc_pts = [(e, a) for e, a, _ in pts if a is not None]
        auc_pts = [(e, m) for e, _, m in pts if m is not None]
        if acc_pts:
            plt.scatter([e for e, _ in acc_pts], [a for _, a in acc_pts], label="accuracy", color="green", marker="●")
        if auc_pts:
            plt.scatter([e for e, _ in auc_pts], [m for _, m in auc_pts], label="MIA AUC", color="red",
                        yside="right", marker="x")
        plt.title("accuracy and MIA AUC vs ε" if pts else "no run has an ε (MIA AUC only)")
        plot.refresh()

    # --- report -----------------------------------------------------------------------------------
    def selected(self) -> dict | None:
        t = self.query_one("#results-table", DataTable)
        if not t.row_count:
            return None
        try:
            rid = t.coordinate_to_cell_key(t.cursor_coordinate).row_key.value
        except Exception:
            return None
        return next((r for r in self.records if r["run_id"] == rid), None)

    def _show_report(self) -> None:
        row = self.selected()
        d, pngs = find_report(self.app.store_root, row)
        w = self.query_one("#report", Static)
        if pngs:
            w.update(Text.assemble((f"report ({len(pngs)} PNG, o opens) ", "bold"),
                                   self.app.display_path(pngs[0])))
        else:
            w.update(Text.assemble(("report ", "bold"), "none yet: ",
                                   (f"tffnoise report {self.app.display_path(self.app.store_root)}", "italic")))

    @on(DataTable.RowHighlighted, "#results-table")
    def _row(self, event) -> None:
        self._show_report()

    @on(DataTable.HeaderSelected, "#results-table")
    def _header(self, event: DataTable.HeaderSelected) -> None:
        col = str(event.column_key.value)
        if col == self.sort_col:
            self.sort_rev = not self.sort_rev
        self.sort_col = col
        self.fill_runs()

    @on(Input.Changed, "#filter")
    def _filter(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self.fill_runs()

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event) -> None:
        self.query_one("#results-table", DataTable).focus()

    def action_focus_filter(self) -> None:
        self.query_one("#tabs", TabbedContent).active = "tab-runs"
        self.query_one("#filter", Input).focus()

    def action_clear_filter(self) -> None:
        f = self.query_one("#filter", Input)
        f.value = ""
        self.query_one("#results-table", DataTable).focus()

    def action_sort_next(self) -> None:
        cols = list(RUN_COLUMNS)
        i = cols.index(self.sort_col) + 1 if self.sort_col in cols else 0
        self.sort_col = cols[i % len(cols)]
        self.fill_runs()
        self.notify(f"sorted by {HEADERS.get(self.sort_col, self.sort_col)}", timeout=1.5)

    def action_sort_reverse(self) -> None:
        self.sort_rev = not self.sort_rev
        self.fill_runs()

    def action_reload(self) -> None:
        self.reload()

    def action_open_report(self) -> None:
        d, pngs = find_report(self.app.store_root, self.selected())
        target = pngs[0] if pngs else d
        if not pngs and not d.exists():
            self.notify(f"no report yet: {d}  (run: tffnoise report {self.app.store_root})", severity="warning")
            return
        opener = shutil.which("xdg-open") if self.app.allow_open else None
        if opener:
            subprocess.Popen([opener, str(target)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             stdin=subprocess.DEVNULL, start_new_session=True)
            self.notify(f"opening {target}")
        else:
            self.notify(f"report: {target}", timeout=8)
        self.opened.append(str(target))

"""The DP tab: ε, the audit's lower bound, the loss attack's AUC and LiRA's / RMIA's TPR at 1% FPR per group
(table: means over the group's runs, as `tffnoise report`'s privacy table), accuracy and AUC per run
against ε (plot)."""
from __future__ import annotations

import math
from collections import defaultdict

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from tffnoise.records.groups import Grouping
from tffnoise_tui.widgets.results_table import LIRA_TPR, RMIA_TPR, value
from tffnoise_tui.widgets.run_table import fmt

#: (column, record key, format) of the table after the group and its run count
COLUMNS = (("acc", "test_accuracy", ".3f"), ("ε", "epsilon", ".2f"), ("MIA AUC", "mia_auc", ".3f"),
           ("LiRA TPR@1%", LIRA_TPR, ".3f"), ("RMIA TPR@1%", RMIA_TPR, ".3f"), ("audit ε≥", "audit_epsilon_lower", ".2f"))


def mean(vals) -> float:
    """Mean of the numbers given (an infinite ε stays infinite); nan when there is none."""
    v = [float(x) for x in vals if isinstance(x, (int, float)) and not math.isnan(float(x))]
    return sum(v) / len(v) if v else math.nan


def num(v: float, spec: str = ".3f") -> str:
    """A table cell: "–" for no value (never `nan`), "∞" for an unbounded ε."""
    if v is None or math.isnan(v):
        return "–"
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    return fmt(v, spec)


class DpView(Vertical):
    DEFAULT_CSS = "DpView { height: 1fr; }"

    def compose(self) -> ComposeResult:
        yield Static("", id="dp-note")
        yield DataTable(id="dp-table", cursor_type="row")
        yield PlotextPlot(id="dp-plot")

    def show(self, records: list[dict], grouping: Grouping) -> None:
        dp = [r for r in records if any(value(r, key) is not None for _, key, _ in COLUMNS[1:])]
        t = self.query_one("#dp-table", DataTable)
        t.clear(columns=True)
        note = self.query_one("#dp-note", Static)
        plot = self.query_one("#dp-plot", PlotextPlot)
        plot.display = bool(dp)
        if not dp:
            note.update("no runs with ε or membership-inference results in this store (set privacy.mode = "
                        "'dp-sgd' or 'dp-fedavg', or privacy.attacks)")
            return
        note.update("lower ε = stronger privacy · MIA AUC near 0.5, TPR@1% near 0.01 = the attack fails")
        for c in ("group", "n") + tuple(c for c, _, _ in COLUMNS):
            t.add_column(c, key=c)
        groups: dict = defaultdict(list)
        for r in dp:
            groups[grouping.key(r)].append(r)
        one_setup = len({k.setup for k in groups}) == 1
        rows = [(k.label() if one_setup else f"{k.setup} · {k.label()}", len(runs),
                 *(mean(value(r, key) for r in runs) for _, key, _ in COLUMNS)) for k, runs in groups.items()]
        rows.sort(key=lambda x: (math.isnan(x[3]), -x[3] if not math.isnan(x[3]) else 0))
        for label, n, *vals in rows:
            t.add_row(label[:36], str(n), *(num(v, spec) for v, (_, _, spec) in zip(vals, COLUMNS)))
        self._plot(plot, dp)

    @staticmethod
    def _plot(plot: PlotextPlot, dp: list[dict]) -> None:
        """Accuracy (left axis) and MIA AUC (right axis) against ε, one point per run."""
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
        plt.xlabel("ε")
        plt.title("accuracy and MIA AUC vs ε" if pts else "no run has an ε (MIA AUC only)")
        plot.refresh()

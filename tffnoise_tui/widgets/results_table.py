"""The Results runs table: one row per run, the sorted column marked ▲/▼ in its header, marked runs (for
the curves overlay) with a ● before the id; `export_rows` gives the same table for CSV / Markdown.

Beside the loss attack's AUC, LiRA's and RMIA's TPR at 1% FPR (docs/privacy.md: what AUC hides at the low
false-positive rates that matter); a TPR at the 1/n floor reads `<0.0005` (below resolution)."""
from __future__ import annotations

from rich.text import Text
from tffnoise.records.runs import attack_key, below_resolution
from tffnoise_tui.widgets.run_table import KeyedTable, fmt, status_text

LIRA_TPR, RMIA_TPR = attack_key("lira"), attack_key("rmia")
RUN_COLUMNS = ("run_id", "status", "setup", "mechanism", "distribution", "level", "repeat", "test_accuracy",
               "test_loss", "epsilon", "mia_auc", LIRA_TPR, RMIA_TPR, "round")
HEADERS = {"run_id": "run", "mechanism": "mech", "distribution": "dist", "repeat": "rep", "test_accuracy": "acc",
           "test_loss": "loss", "epsilon": "ε", "mia_auc": "MIA AUC", LIRA_TPR: "LiRA TPR@1%",
           RMIA_TPR: "RMIA TPR@1%"}
_SPECS = {"test_accuracy": ".3f", "test_loss": ".3f", "mia_auc": ".3f", "epsilon": ".2f", "level": "g",
          LIRA_TPR: ".3f", RMIA_TPR: ".3f"}
_TPR = {LIRA_TPR: "lira", RMIA_TPR: "rmia"}


def value(r: dict, c: str):
    """The index row's value, else the summary's final metric (the attacks' numbers are only there)."""
    v = r.get(c)
    return (r.get("final") or {}).get(c) if v is None else v


def header(col: str) -> str:
    return HEADERS.get(col, col)


def cell(r: dict, c: str, *, short: bool = True) -> str | Text:
    """A cell as shown (`short`: the run id cut to 8 characters, labels to 28)."""
    v = value(r, c)
    if c in _TPR and v is not None and below_resolution(r, _TPR[c]):
        return f"<{float(v):.2g}"
    if c == "run_id":
        return str(v)[:8] if short else str(v)
    if c == "status":
        return status_text(r) if short else str(v or "?")
    if c in _SPECS:
        return fmt(v, _SPECS[c])
    if c == "round":
        return f"{v or 0}/{r.get('rounds') or '?'}"
    text = str(v if v is not None else "–")
    return text[:28] if short else text


def export_rows(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    """Headers and full-length cells (whole run ids and labels) of the rows, in the table's order."""
    return [header(c) for c in RUN_COLUMNS], [[str(cell(r, c, short=False)) for c in RUN_COLUMNS] for r in rows]


def sort_rows(rows: list[dict], col: str, reverse: bool) -> list[dict]:
    """Numbers before text; runs without a value always last, whatever the direction."""
    def key(r):
        v = value(r, col)
        return (v if isinstance(v, (int, float)) else 0, "" if isinstance(v, (int, float)) else str(v))

    valued = [r for r in rows if value(r, col) is not None]
    return sorted(valued, key=key, reverse=reverse) + [r for r in rows if value(r, col) is None]


class ResultsTable(KeyedTable):
    def show(self, rows: list[dict], sort_col: str, reverse: bool, marked: set[str] = frozenset()) -> None:
        keep = self.cursor_row
        self.clear()
        arrow = " ▼" if reverse else " ▲"
        for c in RUN_COLUMNS:  # kept, relabelled: columns made anew would keep their headers' widths
            label = Text(header(c) + (arrow if c == sort_col else ""))
            if c not in self.columns:
                self.add_column(label, key=c)
            else:
                self.columns[c].label = label
        for r in rows:
            cells = [cell(r, c) for c in RUN_COLUMNS]
            if r["run_id"] in marked:
                cells[0] = Text("●" + cells[0], style="bold magenta")
            self.add_row(*cells, key=r["run_id"])
        if rows:
            self.move_cursor(row=min(keep, len(rows) - 1))

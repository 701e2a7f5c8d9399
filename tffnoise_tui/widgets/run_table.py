"""A DataTable of runs: status coloured (diverged red with its round), progress, ETA, final metrics."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from tffnoise_tui.store_reader import fmt_eta

STATUS_STYLE = {"done": "green", "running": "yellow", "pending": "dim", "diverged": "bold red", "failed": "bold red",
                "interrupted": "magenta"}


def fmt(v, spec: str = ".3f") -> str:
    if v is None or isinstance(v, str):
        return v or "–"
    try:
        return format(float(v), spec)
    except (TypeError, ValueError):
        return str(v)


def status_text(row: dict) -> Text:
    st = row.get("status") or "?"
    if st == "diverged":
        text = Text(f"DIVERGED r{row.get('diverged_round') or row.get('round') or '?'}", style="bold red")
    else:
        text = Text(st, style=STATUS_STYLE.get(st, ""))
    if row.get("history_incomplete"):  # a damaged metrics.jsonl: its curves are left out, the next run reruns it
        text.append(" (history incomplete)", style="bold yellow")
    return text


def label_of(row: dict) -> str:
    mech = row.get("mechanism") or "none"
    lvl = row.get("level")
    if mech == "none" or not lvl:
        return "clean"  # every mechanism off (level 0 is off): the report's and the figures' name too
    return f"{mech}/{row.get('distribution') or ''} σ={float(lvl):g}"


class KeyedTable(DataTable):
    """A table whose rows are keyed by run id."""

    def selected_id(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        except Exception:
            return None


class RunTable(KeyedTable):
    """Monitor view: id, setting, repeat, status, round, ETA, accuracy."""

    COLUMNS = ("run", "setting", "rep", "status", "round", "ETA", "acc")

    def on_mount(self) -> None:
        self.cursor_type = "row"
        for c in self.COLUMNS:
            self.add_column(c, key=c)

    def set_rows(self, rows: list[dict], eta=lambda r: None) -> None:
        keep = self.cursor_row
        current = {str(k.value) for k in self.rows}
        wanted = [r["run_id"] for r in rows]
        if set(wanted) != current or len(wanted) != len(current):
            self.clear()
            for r in rows:
                self.add_row(*self._cells(r, eta), key=r["run_id"])
            if rows:
                self.move_cursor(row=min(keep, len(rows) - 1))
            return
        for r in rows:
            for c, v in zip(self.COLUMNS, self._cells(r, eta)):
                self.update_cell(r["run_id"], c, v, update_width=True)  # values outgrow their first width

    @staticmethod
    def _cells(r: dict, eta) -> tuple:
        rnd = f"{r.get('round') or 0}/{r.get('rounds') or '?'}"
        e = fmt_eta(eta(r)) if r.get("status") == "running" else ""
        return (r["run_id"][:8], label_of(r), str(r.get("repeat", "")), status_text(r), rnd, e,
                fmt(r.get("test_accuracy")))

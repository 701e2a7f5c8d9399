"""The command line's tables: runs (`tffnoise runs`) and the per-setting summary at the end of
`tffnoise run`. Runs are named by the records layer's labels (tffnoise/records/groups.py: the setup, then
what differs inside it), so two settings never read alike and nothing is cut to a fixed width."""
from __future__ import annotations

import math

from tffnoise.records import runs as _rec
from tffnoise.records.groups import Grouping

SYNTHETIC = "SYNTHETIC DATA: these numbers come from a generated stand-in, not the real dataset."


def setting_label(grouping: Grouping, rec: dict) -> str:
    key = grouping.key(rec)
    return f"{key.setup} {key.label()}".strip()


def _num(x) -> str:
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{float(x):.4f}"


def render(headers: list[str], rows: list[list[str]], right: set[int] = frozenset()) -> str:
    """Columns as wide as their widest cell (headers included), two spaces apart."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)]

    def line(cells):
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(headers), *(line(r) for r in rows)])


def runs_table(records: list[dict], status: str | None = None) -> str:
    """Every record's run (or those with `status`), labelled by the grouping of all of them, so a filter
    does not change what a setting is called."""
    grouping = Grouping(records)
    rows = []
    for r in records:
        if status is not None and r["status"] != status:
            continue
        status = r["status"] + (f"@{r['diverged_round']}" if r.get("diverged_round") else "")
        rows.append([r["run_id"], setting_label(grouping, r), str(r.get("repeat", "")), status,
                     f"{r.get('round') or 0}/{r.get('rounds') or '?'}", _num(r.get("test_accuracy")),
                     _num(r.get("test_loss"))])
    table = render(["run", "setting", "rep", "status", "round", "test acc", "test loss"], rows, {2, 4, 5, 6})
    return (SYNTHETIC + "\n" if _rec.is_synthetic(records) else "") + table


def _stat(values: list[float]) -> tuple[str, str]:
    """'mean ± sd' and the Student-t 95% CI of the mean over repeats (metrics.significance.mean_ci_t)."""
    from tffnoise.metrics.significance import mean_ci_t

    mean, lo, hi = mean_ci_t(values)
    if not values:
        return "-", "-"
    if len(values) < 2:
        return f"{mean:.4f}", "-"
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    return f"{mean:.4f} ± {sd:.4f}", "-" if math.isnan(lo) else f"[{lo:.4f}, {hi:.4f}]"


def summary_table(records: list[dict]) -> str:
    """One row per setting: n finished repeats, test accuracy and loss as mean ± sd with a 95% t CI, and
    how many repeats did not finish (diverged, failed, interrupted)."""
    grouping = Grouping(records)
    unfinished: dict[str, int] = {}
    for r in records:
        if not _rec.is_done(r):
            label = setting_label(grouping, r)
            unfinished[label] = unfinished.get(label, 0) + 1
    rows = []
    for key, runs in grouping.groups.items():
        label = setting_label(grouping, runs[0])
        acc, acc_ci = _stat(_rec.metric_values(runs, "test_accuracy"))
        loss, loss_ci = _stat(_rec.metric_values(runs, "test_loss"))
        rows.append([label, str(len(runs)), acc, acc_ci, loss, loss_ci, str(unfinished.pop(label, 0) or "")])
    for label, n in unfinished.items():  # settings with no finished repeat
        rows.append([label, "0", "-", "-", "-", "-", str(n)])
    headers = ["setting", "n", "test acc (mean ± sd)", "95% CI", "test loss (mean ± sd)", "95% CI", "not done"]
    return (SYNTHETIC + "\n" if _rec.is_synthetic(records) else "") + render(headers, rows, {1, 6})



def end_of_sweep(result: dict, stream) -> None:
    """The per-setting summary of a finished sweep and the command that reports on it."""
    from tffnoise.records.load import records_from_store
    from tffnoise.runner.store import open_store

    store = open_store(result["out"])
    print(summary_table(records_from_store(store, result["rows"])), file=stream)
    store.close()
    print(f"next: tffnoise report {result['out']}", file=stream)

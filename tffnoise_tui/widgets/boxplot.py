"""Horizontal box plots drawn with text: one line per group on a shared axis.

    label         ├────[▒▒▒▒┃▒▒▒]──────┤  ∘     median 0.812 n=3
"""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


def box_stats(values: list[float]) -> dict:
    """The report's Tukey statistics (`tffnoise.metrics.boxstats`, matplotlib's rule); imported on first use."""
    from tffnoise.metrics.boxstats import box_stats as bs

    return bs(values)


def render_boxes(groups: list[tuple[str, list[float] | None]], width: int = 80, label_w: int = 24) -> Text:
    """One line per (label, values); an entry with values None is a heading line (e.g. the setup)."""
    stats = [(label, None if vals is None else box_stats(vals)) for label, vals in groups]
    stats = [(l, s) for l, s in stats if s is None or s["n"]]
    stats_only = [(l, s) for l, s in stats if s is not None]
    text = Text()
    if not stats_only:
        text.append("no finished runs with a test accuracy yet", style="dim")
        return text
    lo = min(min([s["whisker_low"], *s["outliers"]]) for _, s in stats_only)
    hi = max(max([s["whisker_high"], *s["outliers"]]) for _, s in stats_only)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.01, hi + 0.01
    tail = 18
    plot_w = max(10, width - label_w - tail - 2)

    def col(v: float) -> int:
        return max(0, min(plot_w - 1, round((v - lo) / (hi - lo) * (plot_w - 1))))

    axis = f"{'test accuracy':<{label_w}} {lo:<8.3f}{'':^{max(0, plot_w - 16)}}{hi:>8.3f}"
    text.append(axis + "\n", style="bold")
    for label, s in stats:
        if s is None:
            text.append(label[: width - 1] + "\n", style="bold yellow")
            continue
        cells = [" "] * plot_w
        a, b = col(s["whisker_low"]), col(s["whisker_high"])
        for i in range(a, b + 1):
            cells[i] = "─"
        cells[a], cells[b] = "├", "┤"
        q1, q3 = col(s["q1"]), col(s["q3"])
        for i in range(q1, q3 + 1):
            cells[i] = "▒"
        cells[col(s["median"])] = "┃"
        for o in s["outliers"]:
            cells[col(o)] = "∘"
        text.append(f"{label[:label_w]:<{label_w}} ", style="bold cyan" if "clean" in label or "σ=0" in label else "")
        text.append("".join(cells), style="green")
        text.append(f"  med {s['median']:.3f} n={s['n']}\n")
    return text


class BoxPlot(Static):
    DEFAULT_CSS = "BoxPlot { height: auto; }"

    def __init__(self, **kw):
        super().__init__("", **kw)
        self.groups: list[tuple[str, list[float]]] = []

    def set_groups(self, groups: list[tuple[str, list[float]]]) -> None:
        self.groups = groups
        self.update(render_boxes(groups, width=max(50, (self.size.width or 78))))

    def on_resize(self) -> None:
        if self.groups:
            self.update(render_boxes(self.groups, width=max(50, self.size.width)))

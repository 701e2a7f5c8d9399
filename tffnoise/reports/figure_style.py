"""What every report figure shares: colours, titles, the clean group's one name, panels that say when they
have nothing to draw, and the atomic PNG write. Kept apart from ``figures`` so that each figure is read
without the plumbing."""

from __future__ import annotations

import math
import os
import textwrap
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

SYNTHETIC_TAG = "SYNTHETIC"
#: The one name of the clean group (every mechanism off) in every figure, as in ``GroupKey.label()``.
CLEAN = "clean"
TUKEY_NOTE = "box Q1–Q3, line median, whiskers to most extreme run within 1.5×IQR (Tukey), points outliers"
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
          "#bcbd22", "#17becf"]
MECH_COLORS = {"none": "#444444", "input": "#1f77b4", "hidden": "#ff7f0e", "weights": "#2ca02c",
               "gradient": "#d62728", "label": "#9467bd"}
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def title(text: str, synthetic: bool) -> str:
    return f"{SYNTHETIC_TAG} – {text}" if synthetic else text


def wrap(text: str, width_in: float, fontsize: float) -> str:
    """Break a title into lines that fit ``width_in`` inches at ``fontsize`` points (a title wider than its
    figure is cut at the canvas edge; constrained layout makes room for height, not width)."""
    chars = max(20, int(width_in * 72 / (fontsize * 0.62)))
    return "\n".join(textwrap.fill(line, chars) for line in text.splitlines())


def color(i: int) -> str:
    return COLORS[i % len(COLORS)]


def mech_color(mech: str, fallback: int) -> str:
    return MECH_COLORS.get(mech, color(fallback))


def new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def plain_numbers(ax) -> None:
    """Tick labels as the values themselves: no `1e-3 + 1.0` offset (PoA near 1 read as 0.0001 otherwise)."""
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")


def finite_points(xs, ys) -> int:
    return sum(1 for x, y in zip(xs, ys) if y is not None and math.isfinite(x) and math.isfinite(y))


def say_if_degenerate(ax, points: int, why_empty: str) -> bool:
    """A panel with no data (``why_empty`` says why) or a single point says so in words, with no axes drawn
    round it (an axis spanning one value shows invented ticks). True when it did."""
    if points >= 2:
        return False
    text = f"no data: {why_empty}" if points == 0 else "one point only"
    for line in ax.get_lines():
        xy = line.get_xydata()
        if points == 1 and len(xy):
            fin = [p for p in xy if math.isfinite(p[0]) and math.isfinite(p[1])]
            if fin:
                text += f": x = {fin[0][0]:g}, y = {fin[0][1]:.4g}"
                break
    kept = ax.get_title()
    ax.cla()
    ax.set_axis_off()
    ax.set_title(kept, fontsize=10)
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=9, color="#555555")
    return True


def save_figure(fig: Figure | None, path: str | os.PathLike) -> Path | None:
    """Save as PNG under a temporary name in the target directory, then ``os.replace`` it into place; None
    (nothing written) for no figure."""
    if fig is None:
        return None
    from tffnoise.runner.atomic import atomic_open

    path = Path(path)
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png")
    return path

"""Loss and accuracy curves of one run, drawn with plotext inside Textual (textual-plotext)."""
from __future__ import annotations

from textual_plotext import PlotextPlot


def series(history: list[dict], key: str) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for row in history:
        v = row.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and abs(v) != float("inf"):
            xs.append(row.get("round", len(xs) + 1))
            ys.append(float(v))
    return xs, ys


class Curves(PlotextPlot):
    """Train loss (left axis) and test accuracy (right axis) against the round; a red line where a run diverged."""

    DEFAULT_CSS = "Curves { height: 1fr; min-height: 6; }"

    def __init__(self, **kw):
        super().__init__(**kw)
        self.history: list[dict] = []
        self.title_text = "no run selected"
        self.diverged_round: int | None = None
        self.rounds: int | None = None

    def on_mount(self) -> None:
        self._draw()

    def show(self, history: list[dict], title: str, diverged_round: int | None = None,
             rounds: int | None = None) -> None:
        if (history, title, diverged_round, rounds) == (self.history, self.title_text, self.diverged_round,
                                                        self.rounds):
            return
        self.history, self.title_text, self.diverged_round, self.rounds = list(history), title, diverged_round, rounds
        self._draw()

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.title_text)
        if self.rounds:
            plt.xlim(0, max(self.rounds, 1))
        lx, ly = series(self.history, "train_loss")
        ax, ay = series(self.history, "test_accuracy")
        if ly:
            plt.plot(lx, ly, label="train loss", color="cyan", marker="braille")
        if ay:
            plt.plot(ax, ay, label="test acc", color="green", yside="right", marker="braille")
        if self.diverged_round is not None:
            plt.vline(self.diverged_round, "red")
            plt.title(f"{self.title_text}  DIVERGED at round {self.diverged_round}")
        if not ly and not ay:
            plt.title(self.title_text + " (no rounds yet)")
        self.refresh()


#: Per-round metrics first in the menu (any other numeric key in metrics.jsonl follows, sorted).
METRIC_ORDER = ("test_accuracy", "test_loss", "train_loss", "train_accuracy", "val_accuracy", "val_loss",
                "cumulative_train_loss", "noise_scale", "epsilon")
_NOT_METRICS = {"round", "t", "diverged", "step", "time"}
SMOOTHING = (0.0, 0.6, 0.9)  # exponential moving average weight of the past (0 = raw)


def metrics_in(histories) -> list[str]:
    """Every per-round numeric key present in these histories, the usual ones first."""
    seen = {k for h in histories for row in h for k, v in row.items()
            if k not in _NOT_METRICS and isinstance(v, (int, float)) and not isinstance(v, bool)}
    return [m for m in METRIC_ORDER if m in seen] + sorted(seen - set(METRIC_ORDER))


def smooth(ys: list[float], alpha: float) -> list[float]:
    """Exponential moving average, debiased like TensorBoard's (the first points are not pulled to 0)."""
    if not alpha:
        return list(ys)
    out, acc = [], 0.0
    for i, y in enumerate(ys, 1):
        acc = alpha * acc + (1 - alpha) * y
        out.append(acc / (1 - alpha ** i))
    return out


def mean_band(curves: list[tuple[list, list]]) -> tuple[list, list, list, list]:
    """Per round over the curves that have it: rounds, mean, min, max (the report's band, min–max)."""
    by: dict = {}
    for xs, ys in curves:
        for x, y in zip(xs, ys):
            by.setdefault(x, []).append(y)
    xs = sorted(by)
    return (xs, [sum(by[x]) / len(by[x]) for x in xs], [min(by[x]) for x in xs], [max(by[x]) for x in xs])


class Overlay(PlotextPlot):
    """Several runs' curves of one metric on labelled axes, optionally with a mean and its band."""

    DEFAULT_CSS = "Overlay { height: 1fr; min-height: 8; }"

    def __init__(self, **kw):
        super().__init__(**kw)
        self.lines: list[tuple[str, list, list]] = []
        self.band: tuple[list, list, list, list] | None = None
        self.metric = ""
        self.title_text = "no runs to draw"
        self.axes = ("round", "")

    def show(self, lines, metric: str, title: str, band=None) -> None:
        self.lines, self.metric, self.title_text, self.band = list(lines), metric, title, band
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        colors = ("cyan", "magenta", "yellow", "blue", "red", "white", "orange")
        for i, (label, xs, ys) in enumerate(self.lines):
            if ys:
                plt.plot(xs, ys, label=label, color=colors[i % len(colors)] if band is None else "gray",
                         marker="braille")
        if band is not None and band[0]:
            xs, mean, lo, hi = band
            plt.plot(xs, lo, color="green", marker="dot", label="min–max")
            plt.plot(xs, hi, color="green", marker="dot")
            plt.plot(xs, mean, color="green+", marker="hd", label="mean")
        self.axes = ("round", metric or "–")
        plt.xlabel(self.axes[0])
        plt.ylabel(self.axes[1])
        plt.title(title if any(ys for _, _, ys in self.lines) else f"{title} (no rounds yet)")
        self.refresh()

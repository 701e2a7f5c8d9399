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

"""The Results curves tab: marked runs overlaid, or every repeat of the highlighted run's setting with their
mean and min–max band; any per-round metric of the store; optional smoothing."""
from __future__ import annotations

from pathlib import Path

from tffnoise_tui.store_reader import StoreReader
from tffnoise_tui.widgets.curves import SMOOTHING, Overlay, mean_band, metrics_in, series, smooth


class RunCurves(Overlay):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.metric, self.smoothing = "test_accuracy", 0.0
        self.names: list[str] = []

    def draw(self, root: Path, runs: list[dict], repeats_of: str | None) -> None:
        """`repeats_of`: the setting's label when `runs` are its repeats (a mean and band are drawn)."""
        reader = StoreReader(root)  # metrics.jsonl only: no index connection
        hists = {r["run_id"]: reader.metrics(r["run_id"]) for r in runs}
        self.names = metrics_in(hists.values())
        if self.names and self.metric not in self.names:
            self.metric = self.names[0]
        lines = []
        for r in runs:
            xs, ys = series(hists[r["run_id"]], self.metric)
            lines.append((f"{r['run_id'][:8]} r{r.get('repeat')}", xs, smooth(ys, self.smoothing)))
        band = mean_band([(xs, ys) for _, xs, ys in lines]) if repeats_of and len(lines) > 1 else None
        if not runs:
            what = "no run: mark runs with space, or highlight one"
        elif repeats_of:
            what = f"{repeats_of}: {len(runs)} repeat(s)" + (", mean and min–max band" if band else "")
        else:
            what = f"{len(runs)} marked run(s)"
        smooth_s = f" · EMA {self.smoothing:g}" if self.smoothing else ""
        self.show(lines, self.metric, f"{what} · {self.metric}{smooth_s}", band)

    def next_metric(self) -> None:
        names = self.names or [self.metric]
        self.metric = names[(names.index(self.metric) + 1) % len(names)] if self.metric in names else names[0]

    def next_smoothing(self) -> None:
        self.smoothing = SMOOTHING[(SMOOTHING.index(self.smoothing) + 1) % len(SMOOTHING)]

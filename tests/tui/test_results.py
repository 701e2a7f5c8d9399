"""Results screen over a prepared store: filter, sort, box plots, PoS/PoA/SNR, DP view, report path."""
from __future__ import annotations

import builtins

import pytest
from textual.widgets import DataTable

from tui.screens.results import ResultsScreen, stability_rows
from tui.widgets.boxplot import BoxPlot, render_boxes

from .conftest import make_app

pytestmark = pytest.mark.timeout(60)


async def _stats(pilot):
    while not pilot.app.screen.stats_ready:
        await pilot.pause(0.02)
    await pilot.pause()


def _ids(table: DataTable) -> list[str]:
    return [str(k.value) for k in table.rows]


async def test_filter_sort_and_tabs(store_root):
    app = make_app(store_root, start_mode="results")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, ResultsScreen)
        await _stats(pilot)
        table = screen.query_one("#results-table", DataTable)
        assert table.row_count == 12
        await pilot.press("slash")
        await pilot.press(*"gaussian")
        await pilot.pause()
        assert sorted(_ids(table)) == ["dp000bbbbbbb", "dp001bbbbbbb"]
        await pilot.press("escape")
        await pilot.pause()
        assert table.row_count == 12
        # sort by accuracy: `s` cycles columns; pick test_accuracy directly, then reverse with S
        screen.sort_col = "test_accuracy"
        screen.fill_runs()
        accs = [r["test_accuracy"] for r in screen.visible() if r["test_accuracy"] is not None]
        assert accs == sorted(accs)
        await pilot.press("S")
        accs = [r["test_accuracy"] for r in screen.visible() if r["test_accuracy"] is not None]
        assert accs == sorted(accs, reverse=True) and _ids(table)[0] == "r003aaaaaaaa"
        await pilot.press("s")
        assert screen.sort_col == "test_loss"
        # box plots: one line per done group, clean first
        box = screen.query_one("#boxes", BoxPlot)
        labels = [label for label, _ in box.groups]
        assert labels == ["setup: periodic-averaging m=10", "weights σ=0", "gradient/gaussian σ=1.1",
                          "weights/uniform σ=0.5", "weights/uniform σ=2"]
        # PoS / PoA / SNR
        pos = screen.query_one("#pos-table", DataTable)
        assert pos.row_count == 4
        # DP view
        dp = screen.query_one("#dp-table", DataTable)
        assert dp.row_count == 1
        row = dp.get_row_at(0)
        assert row[3] == "1.35" and row[4] == "0.515"


async def test_report_path_and_open(store_root):
    app = make_app(store_root, start_mode="results")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert "none yet" in str(screen.query_one("#report").render())
        await pilot.press("o")  # no report: says how to make one, opens nothing
        assert screen.opened == []
        rep = store_root / "report"
        rep.mkdir()
        (rep / "accuracy_periodic-averaging-m-10.png").write_bytes(b"\x89PNG")
        screen.reload()
        await _stats(pilot)
        assert "accuracy_periodic-averaging-m-10.png" in str(screen.query_one("#report").render())
        await pilot.press("o")  # allow_open=False: shows the path instead of xdg-open
        assert screen.opened == [str(rep / "accuracy_periodic-averaging-m-10.png")]


def test_stability_fallback_without_metrics(store_root, monkeypatch):
    from tui.store_reader import StoreReader

    records = StoreReader(store_root).records()
    rows, source = stability_rows(records)
    assert source == "tffnoise.metrics"
    real_import = builtins.__import__

    def no_metrics(name, *a, **kw):
        if name.startswith("tffnoise.metrics"):
            raise ImportError("not there")
        return real_import(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_metrics)
    rows2, source2 = stability_rows(records)
    assert "SNR n/a" in source2
    noisy = next(r for r in rows2 if r["level"] == 0.5)
    assert noisy["pos"] == pytest.approx((0.84 + 0.83 + 0.79) / (0.82 + 0.77 + 0.80))
    assert noisy["snr_db"] is None
    ref = next(r for r in rows if r["level"] == 0.5 and r["mechanism"] == "weights")
    assert ref["pos"] == pytest.approx(noisy["pos"])


def test_render_boxes_text():
    text = render_boxes([("clean", [0.8, 0.82, 0.77]), ("σ=2", [0.6, 0.58, 0.66])], width=70).plain
    lines = text.splitlines()
    assert lines[0].startswith("test accuracy") and len(lines) == 3
    assert "┃" in lines[1] and "├" in lines[2] and "med 0.800 n=3" in lines[1]

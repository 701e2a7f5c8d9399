"""Results screen over a prepared store: filter, sort, box plots, PoS/PoA/SNR, DP view, report path."""
from __future__ import annotations

import pytest
from textual.widgets import DataTable

from tffnoise_tui.screens.results import ResultsScreen, stability_rows
from tffnoise_tui.widgets.boxplot import BoxPlot, render_boxes

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
        assert labels == ["setup: periodic-averaging m=10", "clean", "gradient/gaussian σ=1.1",
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


def test_results_use_the_report_grouping_and_statistics(tmp_path):
    """Two settings differing only in noise.weights.decay: two groups, each against the clean run of the same
    seed, with the same numbers `tffnoise report` computes from the same store."""
    from tffnoise.config import to_toml
    from tffnoise.config.schema import Config
    from tffnoise.config.sweep import setting_key
    from tffnoise.metrics.stability import stability_table
    from tffnoise.reports.from_store import records_from_store
    from tffnoise.runner.store import Store
    from tffnoise_tui.store_reader import StoreReader

    store = Store(tmp_path / "s")
    accs = {"none": [0.70, 0.72], "inverse": [0.79, 0.81], None: [0.80, 0.82]}
    for decay, vals in accs.items():
        cfg = Config().to_dict()
        if decay:
            cfg["noise"] = {"weights": {"distribution": "uniform", "level": 0.5, "schedule": "sync", "decay": decay,
                                        "gamma": 0.55}}
        for rep, acc in enumerate(vals):
            rid = f"{decay}{rep}"
            row = {"setting_id": setting_key(cfg), "repeat": rep, "protocol": "periodic-averaging",
                   "mechanism": "weights" if decay else "none", "distribution": "uniform" if decay else "",
                   "level": 0.5 if decay else 0.0, "setup": "periodic-averaging m=10", "synthetic": 0}
            store.register(rid, row, to_toml(cfg), {"run_id": rid})
            for r in range(1, 4):
                store.append_metrics(rid, {"round": r, "val_accuracy": acc * r / 3 + 0.01 * (r == 2) * (decay is None)})
            store.update(rid, status="done", test_accuracy=acc, test_loss=1 - acc)
    records = StoreReader(tmp_path / "s").records()
    clean_sid = next(r["setting_id"] for r in records if r["mechanism"] == "none")
    assert {r["clean_id"] for r in records} == {clean_sid}
    grouping, rows = stability_rows(records)
    labels = sorted(r["key"].label() for r in rows)
    assert labels == ["clean", "weights/uniform σ=0.5 decay=inverse", "weights/uniform σ=0.5 decay=none"]
    by = {r["key"].label(): r for r in rows}
    assert by["weights/uniform σ=0.5 decay=none"]["pos"] == pytest.approx(0.71 / 0.81)
    assert by["weights/uniform σ=0.5 decay=none"]["n"] == 2
    report_rows = stability_table(records_from_store(store))
    assert [(r["key"].label(), r["pos"], r["snr_db"]) for r in report_rows] == [
        (r["key"].label(), r["pos"], r["snr_db"]) for r in rows]
    store.close()


def test_render_boxes_text():
    text = render_boxes([("clean", [0.8, 0.82, 0.77]), ("σ=2", [0.6, 0.58, 0.66])], width=70).plain
    lines = text.splitlines()
    assert lines[0].startswith("test accuracy") and len(lines) == 3
    assert "┃" in lines[1] and "├" in lines[2] and "med 0.800 n=3" in lines[1]


async def test_a_damaged_history_is_flagged_in_the_runs_table(store_root):
    """A finished run whose metrics.jsonl was cut reads as such, not as a whole curve."""
    metrics = store_root / "runs" / "r003aaaaaaaa" / "metrics.jsonl"
    lines = metrics.read_text().splitlines(keepends=True)
    assert len(lines) > 1
    metrics.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])  # cut mid-line
    app = make_app(store_root, start_mode="results")
    async with app.run_test(size=(120, 24)) as pilot:
        await _stats(pilot)
        table = pilot.app.screen.query_one("#results-table", DataTable)
        status = {str(k.value): str(table.get_row(k)[1]) for k in table.rows}
        assert "history incomplete" in status["r003aaaaaaaa"]
        assert not any("history incomplete" in s for rid, s in status.items() if rid != "r003aaaaaaaa")


@pytest.mark.parametrize("eps,shown", [(None, "–"), (float("inf"), "∞")])
async def test_dp_epsilon_never_shows_nan(tmp_path, eps, shown):
    from textual.widgets import DataTable

    from tffnoise.runner.store import Store

    from .conftest import build_store

    root = tmp_path / "store"
    build_store(root)
    store = Store(root)
    for rid in ("dp000bbbbbbb", "dp001bbbbbbb"):
        store.update(rid, epsilon=eps)  # MIA AUC only, or an unbounded ε
    store.close()
    app = make_app(root, start_mode="results")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        row = app.screen.query_one("#dp-table", DataTable).get_row_at(0)
        assert row[3] == shown and "nan" not in row

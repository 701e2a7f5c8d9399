"""Open or switch run stores from inside the TUI (F6), and the Monitor's this-sweep / all-runs view."""
from __future__ import annotations

import json

import pytest

from tffnoise_tui.launcher import Job
from tffnoise_tui.screens.monitor import MonitorScreen
from tffnoise_tui.screens.store_picker import StorePicker

from .conftest import FakeLauncher, build_store, make_app

pytestmark = pytest.mark.timeout(60)


async def test_pick_a_found_store_or_type_a_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a, b = tmp_path / "runs" / "a", tmp_path / "runs" / "b"
    build_store(a)
    build_store(b, dp=False)
    app = make_app(a, start_mode="results")
    async with app.run_test(size=(80, 24)) as pilot:
        assert "(12 runs)" in str(app.screen.query_one("#title").render())
        await pilot.press("f6")
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, StorePicker)
        options = [str(picker.query_one("#stores").get_option_at_index(i).prompt) for i in range(2)]
        assert options == ["runs/a  12 runs  (open)", "runs/b  10 runs"]
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.store_root == b.resolve() and "(10 runs)" in str(app.screen.query_one("#title").render())
        # a typed path that is no store is said, and nothing changes; a store's path opens it
        await pilot.press("f6")
        await pilot.pause()
        app.screen.query_one("#store-path").focus()
        await pilot.press(*"nowhere", "enter")
        await pilot.pause()
        assert isinstance(app.screen, StorePicker)
        assert "nowhere: no run store here" in str(app.screen.query_one("#picker-error").render())
        app.screen.query_one("#store-path").value = str(a)
        await pilot.press("enter")
        await pilot.pause()
        assert app.store_root == a.resolve() and not isinstance(app.screen, StorePicker)
        await pilot.press("f3")  # the Monitor shows the opened store too
        await pilot.pause()
        assert "runs/a" in str(app.screen.query_one("#title").render())


def _events(path, ids):
    lines = [{"event": "sweep_started", "runs": len(ids), "finished": 0, "cells": 1},
             {"event": "cell_started", "runs": ids, "round": 0, "rounds": 20}]
    path.write_text("".join(json.dumps(e) + "\n" for e in lines))
    return path


async def test_monitor_shows_this_sweep_and_counts_only_its_progress(tmp_path):
    """The store holds 10 finished runs of older sweeps; the sweep running now started two of them again
    (round 0 of 20): its progress is 0 %, not the store's 100 %."""
    root = tmp_path / "store"
    build_store(root, dp=False)
    ids = ["r000aaaaaaaa", "r001aaaaaaaa"]
    launcher = FakeLauncher(_events(tmp_path / "ev.jsonl", ids), hold=True, clock=lambda: 1000.0)
    launcher.submit(Job(config=tmp_path / "quick.toml", out=root))
    app = make_app(root, launcher=launcher, start_mode="monitor")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, MonitorScreen)
        screen.refresh_now()
        await pilot.pause()
        table = screen.query_one("#runs")
        assert sorted(str(k.value) for k in table.rows) == ids
        sweep = str(screen.query_one("#sweep").render())
        assert "runs 0/2" in sweep and "  0%" in sweep, sweep
        assert "this sweep (2 of 10" in str(screen.query_one("#title").render())
        await pilot.press("a")
        assert table.row_count == 10 and "all runs" in str(screen.query_one("#title").render())
        assert "  0%" in str(screen.query_one("#sweep").render())  # the view changes, the progress does not

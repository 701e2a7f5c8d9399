"""End to end with the real runner: the TUI launches the quick start (tiny) as a detached subprocess,
the monitor follows its events and the store, the results screen shows the finished runs."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tffnoise_tui.launcher import DONE, Job, Launcher, LogTail
from tffnoise_tui.screens.monitor import MonitorScreen

from .conftest import make_app

ROOT = Path(__file__).parents[2]


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_launch_quickstart_tiny(tmp_path):
    out = tmp_path / "qs"
    launcher = Launcher()
    app = make_app(out, launcher=launcher, start_mode="monitor", clock=time.time, poll_interval=0.5)
    async with app.run_test(size=(80, 24)) as pilot:
        job = launcher.submit(Job(config=ROOT / "recipes" / "quickstart.toml", out=out,
                                  overrides=["training.rounds=2", "data.examples_per_client=20",
                                             "experiment.repeats=1"]))
        assert job.log.parent == out / "launches"
        end = time.time() + 200
        while job.active and time.time() < end:
            await asyncio.sleep(0.5)
        assert job.state == DONE, LogTail(job.log).read() or job.log.read_text()[-2000:]
        screen = app.screen
        assert isinstance(screen, MonitorScreen)
        end = time.time() + 20  # an index busy for one poll is read at the next
        while True:
            screen.refresh_now()
            await pilot.pause()
            if screen.rows or time.time() > end:
                break
            await asyncio.sleep(0.5)
        assert "runs 2/2" in str(screen.query_one("#sweep").render())
        assert any("sweep finished" in line for line in screen.query_one("#log").lines)
        assert {r["status"] for r in screen.rows} == {"done"}
        assert screen.query_one("#runs").row_count == 2
        await pilot.press("f4")
        while not getattr(app.screen, "stats_ready", False):
            await pilot.pause(0.05)
        assert app.screen.query_one("#results-table").row_count == 2
        await pilot.press("f5")
        await pilot.pause()
        assert "CPU:/physical_device:CPU:0" in str(app.screen.query_one("#tf-devices").render())

"""Monitor screen fed by a fake launcher replaying recorded runner events and a prepared store."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tffnoise_tui.launcher import Job
from tffnoise_tui.screens.monitor import MonitorScreen
from tffnoise_tui.store_reader import StoreReader
from tffnoise_tui.widgets.curves import Curves
from tffnoise_tui.widgets.run_table import RunTable

from .conftest import FIXTURES, FakeLauncher, build_store, held_sweep_app, make_app

pytestmark = pytest.mark.timeout(60)


def _text(widget) -> str:
    return str(widget.render())


async def test_replayed_quickstart(tmp_path):
    """The recorded quick-start events (6 runs, 2 cells) against a store with finished runs."""
    root = tmp_path / "store"
    build_store(root, dp=False)
    launcher = FakeLauncher(FIXTURES / "quickstart_events.jsonl", per_poll=10, clock=lambda: 1000.0)
    launcher.submit(Job(config=tmp_path / "quick.toml", out=root))
    app = make_app(root, launcher=launcher, start_mode="monitor")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, MonitorScreen)
        await pilot.pause()
        log = screen.query_one("#log")
        assert any("sweep started: 6 runs in 2 cells" in line for line in log.lines)
        assert "running" in _text(screen.query_one("#sweep"))
        for _ in range(8):
            screen.refresh_now()
        await pilot.pause()
        sweep = _text(screen.query_one("#sweep"))
        assert "done" in sweep and "runs 6/6" in sweep
        assert any("sweep finished" in line and "done 6" in line for line in log.lines)
        table = screen.query_one("#runs", RunTable)
        assert table.row_count == 0  # this sweep's runs (not in this store): the store's older runs are hidden
        await pilot.press("a")  # ... until `a` shows all
        assert table.row_count == 10
        # the diverged run of the store: red banner naming its round, row says DIVERGED r7
        assert "DIVERGED" in _text(screen.query_one("#diverged"))
        assert "divergedrun1"[:8] + " at round 7" in _text(screen.query_one("#diverged"))
        ids = [str(k.value) for k in table.rows]
        table.move_cursor(row=ids.index("divergedrun1"))
        await pilot.pause()
        curves = screen.query_one("#curves", Curves)
        assert curves.diverged_round == 7 and "DIVERGED" in curves.title_text + " DIVERGED"
        cell = table.get_cell("divergedrun1", "status")
        assert cell.plain == "DIVERGED r7" and "red" in str(cell.style)
        # curves of a done run: loss and accuracy series
        table.move_cursor(row=0)
        await pilot.pause()
        assert len(curves.history) == 20 and curves.diverged_round is None
        assert not screen.query_one("#synthetic").display


async def test_synthetic_divergence_eta_and_cancel(tmp_path):
    root, now, launcher, app = held_sweep_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await pilot.pause()
        screen.refresh_now()
        await pilot.pause()
        syn = screen.query_one("#synthetic")
        assert syn.display and "SYNTHETIC DATA" in _text(syn)
        div = _text(screen.query_one("#diverged"))
        assert "div00000" in div and "at round 3" in div
        # ETA for the running run from observed progress (round 5 at t=1000, round 8 at t=1050)
        from tffnoise.runner.store import Store

        s = Store(root, create=False)
        now[0] = 1050.0
        s.update("running00001", round=8)
        s.close()
        screen.refresh_now()
        await pilot.pause()
        table = screen.query_one("#runs", RunTable)
        # 3 rounds in 50 s -> 12 of 20 rounds left = 200 s
        assert table.get_cell("running00001", "ETA") == "3m20s"
        await pilot.press("x")
        await pilot.pause()
        assert not launcher.cancelled  # the first x only asks
        await pilot.press("x")
        await pilot.pause()
        assert launcher.cancelled
        assert "cancelled" in _text(screen.query_one("#sweep"))


async def test_reattach_running_sweep_from_store(tmp_path, monkeypatch):
    """A TUI opened later finds runs marked running whose pid is alive and monitors them."""
    # a stand-in for a runner left running by an earlier TUI (its command line names tffnoise)
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "tffnoise", "run"],
                            start_new_session=True)
    request_cleanup = proc.kill
    root = tmp_path / "runs" / "exp"
    build_store(root, dp=False, running_pid=proc.pid)
    (root / "launches").mkdir()
    (root / "launches" / "20260101-000000-000.log").write_text(
        (FIXTURES / "quickstart_events.jsonl").read_text().splitlines()[0] + "\nsome stderr line\n")
    monkeypatch.chdir(tmp_path)
    app = make_app(root, discover=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, MonitorScreen)
        job = app.launcher.current
        try:
            assert job is not None and job.state == "attached" and job.pid == proc.pid
            screen = app.screen
            screen.refresh_now()
            await pilot.pause()
            assert "attached" in _text(screen.query_one("#sweep"))
            assert "some stderr line" in screen.query_one("#log").lines
            # cancel reaches the attached sweep's process group
            await pilot.press("x", "x")
            await pilot.pause()
            assert proc.wait(timeout=10) != 0
        finally:
            request_cleanup()


def test_recycled_pid_is_not_a_sweep(tmp_path):
    from tffnoise_tui.store_reader import StoreReader

    root = tmp_path / "store"
    build_store(root, dp=False, running_pid=os.getpid())  # alive, but pytest, not the runner
    assert StoreReader(root).running() == []


def test_a_busy_index_keeps_the_last_rows(store_root):
    """sqlite busy for one poll: the table keeps the runs it last read instead of showing none."""
    reader = StoreReader(store_root)
    first = reader.rows()
    assert first

    class Busy:
        snapshot = False

        def all(self):
            raise RuntimeError("database is locked")

        def close(self):
            pass

    reader._store = Busy()
    assert [r["run_id"] for r in reader.rows()] == [r["run_id"] for r in first]

"""Monitor values that change while it is open: cells that outgrow their first width, logs longer than the
tail buffer, interrupted runs, the sweep ETA after an attach, the first seconds after a launch, resume."""
from __future__ import annotations

import os

import pytest

from tffnoise.runner.store import Store
from tffnoise_tui.launcher import Job
from tffnoise_tui.widgets.run_table import RunTable, label_of

from .conftest import FIXTURES, FakeLauncher, _config_toml, _row, build_store, held_sweep_app, make_app

pytestmark = pytest.mark.timeout(60)


def _text(widget) -> str:
    return str(widget.render())


def _add_run(root, rid, **kw):
    row = _row(kw.pop("mech", "weights"), kw.pop("dist", "uniform"), kw.pop("level", 1.0), 0, **kw)
    s = Store(root, create=False)
    s.register(rid, row, _config_toml(row), {"run_id": rid})
    s.update(rid, **{k: v for k, v in row.items() if k != "setting_id"})
    s.close()
    return row


async def test_cells_grow_with_their_values(tmp_path):
    """An ETA that starts as `–` and a round that starts as `5/20` are not cut to that first width later,
    and a long setting label is shown whole."""
    root = tmp_path / "store"
    build_store(root, dp=False, running_pid=os.getpid())
    long = _add_run(root, "longlabel001", level=0.123456789, status="running", rnd=1, rounds=5, pid=os.getpid())
    now = [1000.0]
    app = make_app(root, start_mode="monitor", clock=lambda: now[0])
    async with app.run_test(size=(120, 30)) as pilot:
        screen = app.screen
        await pilot.pause()
        table = screen.query_one("#runs", RunTable)
        assert table.get_cell("longlabel001", "setting") == label_of(long) and len(label_of(long)) > 24
        s = Store(root, create=False)
        now[0] = 1100.0
        s.update("running00001", round=15, rounds=150, test_accuracy=0.91234)
        s.close()
        screen.refresh_now()
        await pilot.pause()
        for key, want in (("ETA", table.get_cell("running00001", "ETA")), ("round", "15/150"), ("acc", "0.912")):
            assert table.get_cell("running00001", key) == want
            assert table.columns[key].content_width >= len(want), key
        assert len(table.get_cell("running00001", "ETA")) >= 4  # e.g. 16m40s, not `–`


def _events(path, rounds: int):
    import json

    lines = [{"event": "sweep_started", "out": "x", "runs": 1, "finished": 0, "cells": 1}]
    lines += [{"event": "round", "runs": ["a"], "round": r, "rounds": rounds, "train_loss": 1.0} for r in range(1, rounds + 1)]
    lines += [{"event": "sweep_finished", "runs": 1, "wall_s": 2.0, "status": {"done": 1}}]
    path.write_text("".join(json.dumps(e) + "\n" for e in lines))
    return path


async def test_log_pane_follows_past_the_tail_buffer(tmp_path):
    """400 rounds of events, 50 lines a poll: the log pane shows every line through "sweep finished",
    although the tail keeps only the last 200."""
    root = tmp_path / "store"
    build_store(root, dp=False)
    launcher = FakeLauncher(_events(tmp_path / "ev.jsonl", 400), per_poll=50, clock=lambda: 1000.0)
    launcher.submit(Job(config=tmp_path / "long.toml", out=root))
    app = make_app(root, launcher=launcher, start_mode="monitor")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        for _ in range(12):
            screen.refresh_now()
        await pilot.pause()
        lines = screen.query_one("#log").lines
        assert lines[-1].startswith("sweep finished")
        assert sum(line.startswith("round ") for line in lines) == 400


def _dead_pid() -> int:
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


async def test_killed_run_reads_interrupted_without_eta(tmp_path):
    """A run left `running` by a killed process is shown `interrupted`, with no ETA, in the table and header."""
    root = tmp_path / "store"
    build_store(root, dp=False, running_pid=_dead_pid())
    app = make_app(root, start_mode="monitor")
    async with app.run_test(size=(100, 24)) as pilot:
        screen = app.screen
        await pilot.pause()
        table = screen.query_one("#runs", RunTable)
        assert table.get_cell("running00001", "status").plain == "interrupted"
        assert table.get_cell("running00001", "ETA") == ""
        sweep = _text(screen.query_one("#sweep"))
        assert sweep.startswith("interrupted") and "ETA –" in sweep


async def test_cancelled_sweep_stops_counting(tmp_path):
    """Cancel from the Monitor: the runs it was running read `interrupted` at once (their process may take a
    moment to die), and no ETA counts on."""
    root, now, launcher, app = held_sweep_app(tmp_path)
    async with app.run_test(size=(100, 24)) as pilot:
        screen = app.screen
        await pilot.pause()
        s = Store(root, create=False)
        now[0] = 1050.0
        s.update("running00001", round=8)
        s.close()
        screen.refresh_now()
        table = screen.query_one("#runs", RunTable)
        assert table.get_cell("running00001", "ETA") == "3m20s"
        await pilot.press("x", "x")
        await pilot.pause()
        now[0] = 1100.0
        screen.refresh_now()
        assert table.get_cell("running00001", "status").plain == "interrupted"
        assert table.get_cell("running00001", "ETA") == ""
        assert "ETA –" in _text(screen.query_one("#sweep"))


def test_attached_sweep_killed_is_interrupted(tmp_path):
    """An attached sweep whose process dies leaving runs unfinished ends `interrupted`, not `done`."""
    import subprocess
    import sys

    from tffnoise_tui.launcher import Launcher

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    root = tmp_path / "store"
    build_store(root, dp=False, running_pid=proc.pid)
    launcher = Launcher()
    job = launcher.attach(root, proc.pid)
    proc.kill()
    proc.wait()
    launcher.poll()
    assert job.state == "interrupted"


async def test_sweep_eta_counts_progress_since_attach(tmp_path):
    """Attached at 10 of 11 runs finished and the running run at round 5/20: 5 more rounds in 100 s leave
    10 rounds, 200 s; the time since the attach over the whole sweep's progress would say about 13 s."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "tffnoise", "run"],
                            start_new_session=True)
    try:
        root = tmp_path / "store"
        build_store(root, dp=False, running_pid=proc.pid)
        now = [1000.0]
        app = make_app(root, start_mode="monitor", clock=lambda: now[0])
        async with app.run_test(size=(100, 24)) as pilot:
            app.launcher.attach(root, proc.pid)
            screen = app.screen
            screen.refresh_now()
            await pilot.pause()
            assert "ETA –" in _text(screen.query_one("#sweep"))
            s = Store(root, create=False)
            s.update("running00001", round=10)
            s.close()
            now[0] = 1100.0
            screen.refresh_now()
            await pilot.pause()
            assert "ETA 3m20s" in _text(screen.query_one("#sweep"))
    finally:
        proc.kill()
        proc.wait()


async def test_first_seconds_after_launch(tmp_path):
    """Before the runner's first event (it is importing TensorFlow) the Monitor says so, in the header and
    the log, instead of the store's older runs; then the sweep's size."""
    root = tmp_path / "store"
    build_store(root, dp=False)
    events = tmp_path / "ev.jsonl"
    lines = (FIXTURES / "quickstart_events.jsonl").read_text().splitlines(keepends=True)
    events.write_text("W0000 a TensorFlow warning on stderr\n" * 5 + "".join(lines))
    launcher = FakeLauncher(events, per_poll=1, hold=True, clock=lambda: 1000.0)
    launcher.submit(Job(config=tmp_path / "quick.toml", out=root))
    app = make_app(root, launcher=launcher, start_mode="monitor")
    async with app.run_test(size=(100, 24)) as pilot:
        screen = app.screen
        await pilot.pause()
        log = screen.query_one("#log")
        assert log.lines[0] == "starting runner (loading TensorFlow)…"
        sweep = _text(screen.query_one("#sweep"))
        assert "starting runner (loading TensorFlow)…" in sweep and "runs" not in sweep
        for _ in range(5):
            screen.refresh_now()
        await pilot.pause()
        sweep = _text(screen.query_one("#sweep"))
        assert "runs 0/6" in sweep and "loading TensorFlow" not in sweep
        assert any(line.startswith("sweep started: 6 runs") for line in log.lines)


async def test_resume_after_cancelling_an_attached_sweep(tmp_path, monkeypatch):
    """A sweep found running (started by an earlier TUI) is cancelled and relaunched with `R`: the same
    recipe, preset and overrides as its runner's command line."""
    import subprocess
    import sys

    (tmp_path / "work").mkdir()
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "tffnoise", "run", "recipe.toml",
                             "--json", "--out", "x", "--preset", "smoke", "--set", "training.rounds=3"],
                            cwd=tmp_path / "work", start_new_session=True)
    try:
        root = tmp_path / "runs" / "exp"
        build_store(root, dp=False, running_pid=proc.pid)
        (root / "launches").mkdir()
        (root / "launches" / "20260101-000000-000.log").write_text("")
        monkeypatch.chdir(tmp_path)
        launcher = FakeLauncher(_events(tmp_path / "ev.jsonl", 3), hold=True)
        app = make_app(root, launcher=launcher, discover=True)
        async with app.run_test(size=(100, 24)) as pilot:
            await pilot.pause()
            assert app.launcher.current.state == "attached"
            await pilot.press("x", "x")
            await pilot.pause()
            await pilot.press("R")
            await pilot.pause()
            job = launcher.jobs[-1]
            assert len(launcher.jobs) == 2 and job.state == "running"
            assert (job.config, job.preset, job.overrides) == (tmp_path / "work" / "recipe.toml", "smoke",
                                                               ["training.rounds=3"])
    finally:
        proc.kill()
        proc.wait()


def test_attach_falls_back_to_the_launch_file(tmp_path):
    """No command line to read (a pid that is not a runner): the recipe Configure wrote into launches/."""
    from tffnoise_tui.launcher import Launcher

    root = tmp_path / "store"
    build_store(root, dp=False)
    (root / "launches").mkdir()
    for name in ("20260101-000000-old.toml", "20260102-000000-new.toml"):
        (root / "launches" / name).write_text("")
    job = Launcher().attach(root, os.getpid())
    assert job.config == root / "launches" / "20260102-000000-new.toml"

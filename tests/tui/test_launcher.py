"""The launcher with real subprocesses (a fake runner script replaying recorded events): detached session,
log under the store, queue, cancel by process group, exit codes, log tail parsing."""
from __future__ import annotations

import os
import sys
import time

import pytest

from tffnoise_tui.launcher import CANCELLED, DONE, FAILED, RUNNING, USER_ERROR, Job, Launcher, LogTail, describe_event

from .conftest import FIXTURES

pytestmark = pytest.mark.timeout(60)
RUNNER = [sys.executable, str(FIXTURES / "fake_runner.py")]


def _wait(launcher: Launcher, pred, timeout=15.0):
    end = time.time() + timeout
    while time.time() < end:
        launcher.poll()
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_queue_log_and_events(tmp_path):
    env = {**os.environ, "FAKE_EVENTS": str(FIXTURES / "quickstart_events.jsonl")}
    launcher = Launcher(runner=RUNNER, env=env)
    a = launcher.submit(Job(config=tmp_path / "a.toml", out=tmp_path / "out", preset="smoke",
                            overrides=["training.rounds=2"]))
    b = launcher.submit(Job(config=tmp_path / "b.toml", out=tmp_path / "out"))
    assert a.state == RUNNING and b.state == "queued" and launcher.current is a
    assert os.getpgid(a.pid) == a.pid != os.getpgid(0)  # its own session / process group
    _wait(launcher, lambda: b.state == DONE)
    assert a.state == DONE and a.returncode == 0
    assert a.log.parent == tmp_path / "out" / "launches" and a.log != b.log
    tail = LogTail(a.log)
    events = tail.read()
    assert [e["event"] for e in events][:2] == ["sweep_started", "cell_started"]
    assert events[-1]["event"] == "sweep_finished"
    first = tail.lines[0]
    assert first.startswith("argv run") and "--json --out" in first and "--preset smoke" in first
    assert "--set training.rounds=2" in first
    assert tail.read() == []  # incremental


def test_cancel_kills_process_group(tmp_path):
    env = {**os.environ, "FAKE_HOLD": "30"}
    launcher = Launcher(runner=RUNNER, env=env)
    job = launcher.submit(Job(config=tmp_path / "a.toml", out=tmp_path / "out"))
    queued = launcher.submit(Job(config=tmp_path / "b.toml", out=tmp_path / "out"))
    launcher.cancel(queued)
    assert queued.state == CANCELLED
    launcher.cancel()
    assert job.state == CANCELLED
    job.proc.wait(timeout=10)
    assert job.proc.returncode != 0
    launcher.poll()
    assert launcher.current is None and not launcher.queued


def test_exit_codes(tmp_path):
    for code, state in ((1, FAILED), (2, USER_ERROR)):
        launcher = Launcher(runner=RUNNER, env={**os.environ, "FAKE_EXIT": str(code)})
        job = launcher.submit(Job(config=tmp_path / "a.toml", out=tmp_path / f"out{code}"))
        _wait(launcher, lambda: not job.active)
        assert job.state == state


def test_log_tail_partial_lines(tmp_path):
    log = tmp_path / "x.log"
    log.write_text('{"event": "round", "round": 1, "rounds": 2, "train_loss": 0.5}\n{"event": "ro')
    tail = LogTail(log)
    assert [e["round"] for e in tail.read()] == [1]
    with open(log, "a") as f:
        f.write('und", "round": 2, "rounds": 2}\nplain stderr\n')
    assert [e["round"] for e in tail.read()] == [2]
    assert list(tail.lines)[-1] == "plain stderr"
    assert describe_event({"event": "diverged", "run_id": "abc", "round": 4}) == "run abc DIVERGED at round 4"

"""Item 4 of issue 18: one writer per store; a dead writer's lock is taken over; readers keep working."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.runner.conftest import QUICK, cli
from tffnoise.runner.lock import LOCK_NAME, StoreLock, StoreLocked, holder
from tffnoise.runner.store import Store

HOLD = ("import sys\nfrom tffnoise.runner.lock import StoreLock\nwith StoreLock(sys.argv[1]):\n"
        "    print('held', flush=True)\n    sys.stdin.read()")


def _holder_process(out):
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


def test_second_writer_is_refused_naming_the_holder_and_readers_keep_working(tmp_path):
    out = tmp_path / "store"
    store = Store(out)
    store.register("r1", {"setting_id": "s", "repeat": 0}, "", {})
    p = _holder_process(out)
    try:
        res = cli("run", QUICK, "--out", str(out), "--preset", "smoke")
        assert res.returncode == 2, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
        assert f"pid {p.pid} on host {socket.gethostname()} since " in res.stderr
        assert sorted(x.name for x in (out / "runs").iterdir()) == ["r1"]  # nothing registered
        with pytest.raises(StoreLocked, match=f"pid {p.pid}"):
            StoreLock(out).acquire()
        res = cli("runs", str(out), "--json")  # a reader is never refused
        assert res.returncode == 0 and [r["run_id"] for r in json.loads(res.stdout)] == ["r1"]
        store.update("r1", status="running", pid=p.pid)
        assert store.get("r1")["status"] == "running"  # its writer holds the lock
        store.update("r1", pid=p.pid + 100000)
        assert store.get("r1")["status"] == "interrupted"  # the lock's holder is someone else
    finally:
        p.communicate("")
    assert holder(out) is None  # a clean exit frees the lock
    store.update("r1", pid=os.getpid())
    assert store.get("r1")["status"] == "interrupted"  # alive, but nobody writes the store


def test_lock_of_a_killed_writer_is_taken_over(tmp_path):
    out = tmp_path / "store"
    p = _holder_process(out)
    dead = holder(out)
    assert dead["pid"] == p.pid
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert holder(out) == dead  # the record stays behind
    with StoreLock(out) as lock:
        assert lock.stale == dead
        assert holder(out)["pid"] == os.getpid()
    assert holder(out) is None


def test_a_record_whose_pid_now_runs_another_process_is_stale(tmp_path):
    """Without its flock, a record naming a live pid is believed only if that process started before it."""
    out = tmp_path / "store"
    out.mkdir()
    p = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        time.sleep(0.2)
        rec = {"pid": p.pid, "host": socket.gethostname()}
        (out / LOCK_NAME).write_text(json.dumps({**rec, "started": time.time() + 60}))
        with pytest.raises(StoreLocked, match="network filesystem"):
            StoreLock(out).acquire()
        (out / LOCK_NAME).write_text(json.dumps({**rec, "started": time.time() - 3600}))  # pid reused since
        with StoreLock(out) as lock:
            assert lock.stale["pid"] == p.pid
        (out / LOCK_NAME).write_text(json.dumps({**rec, "host": "elsewhere", "started": 0}))
        with pytest.raises(StoreLocked, match="another host"):
            StoreLock(out).acquire()
    finally:
        p.communicate(b"")

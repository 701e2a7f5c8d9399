"""Runs on TFF worker services from the config: equal to local execution, a killed worker fails the
run (named) while the sweep goes on, and rerunning resumes once the worker is back. The runner's
output is piped, which would hang if any worker_binary outlived its parent."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tffnoise.execution import hygiene, ports, start_local_workers, stop_local_workers
from tffnoise.execution.remote import local_worker_process

ROOT = Path(__file__).resolve().parents[2]
QUICK = str(ROOT / "recipes" / "quickstart.toml")
ARGS = ["--preset", "smoke", "--engine", "tff", "--json", "--set", "experiment.repeats=1"]


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "tffnoise", "run", QUICK, *ARGS, *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=300, env={**os.environ, **(env or {})})


def rows(out):
    con = sqlite3.connect(Path(out) / "index.sqlite")
    con.row_factory = sqlite3.Row
    return {r["run_id"]: dict(r) for r in con.execute("SELECT * FROM runs")}


@pytest.fixture
def workers():
    addrs = start_local_workers(2)
    yield addrs
    stop_local_workers()


@pytest.mark.slow
def test_remote_workers_equal_local(tmp_path, workers):
    local = run("--out", str(tmp_path / "local"))
    assert local.returncode == 0, local.stderr
    remote = run("--out", str(tmp_path / "remote"), "--set", f"execution.workers={json.dumps(workers)}")
    assert remote.returncode == 0, remote.stderr
    a, b = rows(tmp_path / "local"), rows(tmp_path / "remote")
    assert a.keys() == b.keys()  # where TFF runs is not part of a run's identity
    for rid in a:
        assert abs(a[rid]["test_loss"] - b[rid]["test_loss"]) < 1e-5


@pytest.mark.slow
def test_killed_worker_fails_the_run_and_rerun_resumes(tmp_path, workers):
    out = tmp_path / "fault"
    env = {"TFFNOISE_CHECKPOINT_S": "0"}
    cmd = [sys.executable, "-m", "tffnoise", "run", QUICK, *ARGS, "--out", str(out), "--set", "training.rounds=60",
           "--set", f"execution.workers={json.dumps(workers)}", "--set", "execution.call_timeout_s=20"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **env})
    victim = workers[1]
    deadline = time.time() + 180
    while time.time() < deadline:
        time.sleep(0.1)
        try:
            if any(r["status"] == "running" and r["round"] >= 3 for r in rows(out).values()):
                break
        except sqlite3.Error:
            pass
    local_worker_process(victim).send_signal(signal.SIGKILL)
    t0 = time.time()
    stdout, stderr = proc.communicate(timeout=120)
    assert time.time() - t0 < 60, "the failure must come within a bounded time"
    assert proc.returncode == 1, stderr
    failed = [r for r in rows(out).values() if r["status"] == "failed"]
    assert failed and all(victim in r["error"] for r in failed)
    assert sum(1 for line in stdout.splitlines() if '"run_failed"' in line) == len(rows(out))  # the sweep went on
    # the worker comes back on the same port; the rerun resumes from the checkpoint
    port = int(victim.rsplit(":", 1)[1])
    back = hygiene.spawn([ports.worker_binary_path(), f"--port={port}"])
    try:
        assert ports.wait_until_accepting("127.0.0.1", port, 30)
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**os.environ, **env})
        assert res.returncode == 0, res.stderr
        starts = [json.loads(x) for x in res.stdout.splitlines() if '"cell_started"' in x]
        assert starts[0]["round"] > 0
        assert all(r["status"] == "done" for r in rows(out).values())
    finally:
        hygiene.stop(back)

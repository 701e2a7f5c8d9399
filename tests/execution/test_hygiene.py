"""No worker_binary outlives the process that started it, and pipes on its output reach EOF.

Each case runs a real child Python that installs the local context and runs a computation. The
three children run in parallel to keep the wall time down (each imports TFF, 6-15 s).
"""

import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

SCRIPT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import tensorflow_federated as tff
    from tffnoise.execution import hygiene, install_local_context, local

    @tff.federated_computation(tff.FederatedType(np.float32, tff.CLIENTS))
    def total(xs):
        return tff.federated_sum(xs)

    mode = sys.argv[1]
    if mode == "exit":
        # TFF's own default context first: its worker inherits our stdout and has no PDEATHSIG.
        # Replacing the context would let TFF stop it (its ServiceManager.__del__), so keep a
        # reference: only our atexit cleanup can end it then, and the test's pipe hangs if not.
        from tensorflow_federated.python.core.impl.context_stack import context_stack_impl
        total([1.0, 2.0])
        keep = context_stack_impl.context_stack.current
    install_local_context()
    result = total([1.0, 2.0, 3.0])
    pids = [local.local_worker_pid(), *hygiene.stray_worker_pids()]
    print("READY", result, *pids, flush=True)
    if mode != "exit":
        time.sleep(600)
    """
)


def _worker_pids() -> set[int]:
    """Live worker_binary PIDs on the machine (other engineers' included; zombies left out)."""
    out = subprocess.run(["pgrep", "-f", "worker_binary"], capture_output=True, text=True).stdout
    return {int(p) for p in out.split() if _alive(int(p))}


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _read_ready(proc) -> list[int]:
    for line in proc.stdout:
        if line.startswith("READY"):
            fields = line.split()
            assert float(fields[1]) == 6.0
            return [int(p) for p in fields[2:]]
    raise AssertionError(f"child exited before READY, code {proc.wait()}")


def test_workers_die_with_their_parent(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(SCRIPT)
    before = _worker_pids()
    procs = {
        mode: subprocess.Popen(
            [sys.executable, str(script), mode],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for mode in ("exit", "term", "kill")
    }
    try:
        pids = {mode: _read_ready(proc) for mode, proc in procs.items()}
        assert len(pids["exit"]) == 2, "the exit case should see TFF's own worker as a stray"
        for mode in ("term", "kill"):
            assert len(pids[mode]) == 1 and _alive(pids[mode][0])
        procs["term"].send_signal(signal.SIGTERM)
        procs["kill"].send_signal(signal.SIGKILL)

        for proc in procs.values():
            # communicate() returns only at EOF, i.e. once no process holds the pipe any more.
            proc.communicate(timeout=60)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    assert procs["exit"].returncode == 0
    assert procs["term"].returncode == -signal.SIGTERM
    assert procs["kill"].returncode == -signal.SIGKILL

    deadline = time.monotonic() + 10
    ours = {pid for found in pids.values() for pid in found}
    while time.monotonic() < deadline and any(_alive(p) for p in ours):
        time.sleep(0.2)
    survivors = {p for p in ours if _alive(p)}
    assert not survivors, f"worker_binary survived its parent: {survivors}"
    assert not (ours & _worker_pids() - before)

"""Child processes that die with their parent.

TFF's own local context starts `worker_binary` with a plain `subprocess.Popen` that inherits
stdout/stderr and is never killed at exit: the orphan outlives Python and keeps any pipe on our
output open, so `tffnoise ... | tee log`, CI, or a test capturing our output hangs forever.
Everything here exists to make that impossible for the processes we start:

* the child gets `prctl(PR_SET_PDEATHSIG, SIGKILL)`, so the kernel kills it even when we are
  SIGKILLed. The prctl runs in a tiny `python -c` shim that then `execv`s the binary, not in a
  `preexec_fn`: TensorFlow runs many threads and `preexec_fn` is unsafe after fork in a threaded
  process (it can deadlock on a lock another thread held).
* PDEATHSIG fires when the *thread* that forked the child ends, not the process, so every child
  is forked from one long-lived daemon thread (`_Spawner`), never from a short-lived caller
  thread or TFF's event-loop threads (which end when a context is garbage collected).
* the child's output goes to DEVNULL or a log file, never to our stdout/stderr pipes.
* it runs in its own session, so a terminal Ctrl-C reaches only us and we decide when it stops.
* `atexit` and a chained SIGTERM handler stop every tracked child, plus any `worker_binary`
  descendant (e.g. one TFF's default context started before we replaced it).
"""

from __future__ import annotations

import atexit
import concurrent.futures
import os
import queue
import signal
import subprocess
import sys
import threading
from typing import Callable, Sequence

WORKER_BINARY_NAME = "worker_binary"

# Runs between fork and exec in the child: ask for SIGKILL when the forking thread dies, make sure
# the parent did not already die before the prctl (then we would be an orphan forever), exec.
_SHIM = (
    "import ctypes,os,sys\n"
    "ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)\n"  # PR_SET_PDEATHSIG = 1, SIGKILL = 9
    "if os.getppid() != int(sys.argv[1]): os._exit(70)\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)

_lock = threading.Lock()
_tracked: list[subprocess.Popen] = []
_atexit_installed = False
_sigterm_installed = False


class _Spawner:
    """One daemon thread that forks every child, so PDEATHSIG fires only when the process ends."""

    def __init__(self) -> None:
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def _loop(self) -> None:
        while True:
            fn, future = self._queue.get()
            try:
                future.set_result(fn())
            except BaseException as e:  # noqa: BLE001 - handed back to the caller
                future.set_exception(e)

    def call(self, fn: Callable[[], subprocess.Popen]) -> subprocess.Popen:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="tffnoise-spawner", daemon=True)
                self._thread.start()
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._queue.put((fn, future))
        return future.result()


_spawner = _Spawner()


def spawn(argv: Sequence[str], *, log_path: str | None = None, inherit_output: bool = False) -> subprocess.Popen:
    """Start `argv` as a tracked child that dies with this process (see the module docstring).

    Output goes to `log_path` (appended) if given, else DEVNULL; `inherit_output=True` is only for
    a foreground command such as `tffnoise worker`, whose child should write to the terminal.
    """
    install_handlers()
    argv = [str(a) for a in argv]
    full = [sys.executable, "-S", "-c", _SHIM, str(os.getpid()), *argv]

    def start() -> subprocess.Popen:
        if inherit_output:
            out = None
        elif log_path:
            out = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        else:
            out = subprocess.DEVNULL
        try:
            return subprocess.Popen(
                full,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT if out is not None else None,
                start_new_session=True,
                close_fds=True,
            )
        finally:
            if log_path and not inherit_output:
                out.close()

    proc = _spawner.call(start)
    with _lock:
        _tracked.append(proc)
    return proc


def stop(proc: subprocess.Popen, *, grace_s: float = 3.0) -> None:
    """End a child: SIGTERM, then SIGKILL after `grace_s`; always reaped, never raises."""
    try:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=grace_s)
    except (OSError, subprocess.TimeoutExpired):
        pass
    with _lock:
        if proc in _tracked:
            _tracked.remove(proc)


def stray_worker_pids() -> list[int]:
    """PIDs of `worker_binary` processes descending from us that we did not start ourselves."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a dependency
        return []
    with _lock:
        ours = {p.pid for p in _tracked}
    found = []
    try:
        for child in psutil.Process().children(recursive=True):
            try:
                if child.pid not in ours and child.name() == WORKER_BINARY_NAME:
                    found.append(child.pid)
            except psutil.Error:
                continue
    except psutil.Error:
        pass
    return found


def cleanup() -> None:
    """Stop every tracked child and kill any stray `worker_binary` descendant. Safe to call twice."""
    with _lock:
        procs = list(_tracked)
    for proc in procs:
        stop(proc, grace_s=2.0)
    for pid in stray_worker_pids():
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)  # reap it if it is our direct child (TFF's Popen), else ECHILD
        except OSError:
            pass


def _on_sigterm(signum, frame, previous=None):  # noqa: ANN001 - signal handler signature
    cleanup()
    if callable(previous):
        previous(signum, frame)
        return
    # Re-deliver with the default action, so the exit status still says "killed by SIGTERM".
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def install_handlers() -> None:
    """Register the atexit cleanup, and the SIGTERM cleanup when called from the main thread.

    SIGINT needs no handler: Python turns it into KeyboardInterrupt, the interpreter exits
    normally and atexit runs. A previously installed SIGTERM handler is still called afterwards.
    """
    global _atexit_installed, _sigterm_installed
    with _lock:
        first, _atexit_installed = not _atexit_installed, True
    if first:
        atexit.register(cleanup)
    if _sigterm_installed or threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set from the main thread; a later call retries
    _sigterm_installed = True
    previous = signal.getsignal(signal.SIGTERM)
    if previous is signal.SIG_IGN:
        return
    prev = previous if callable(previous) else None
    signal.signal(signal.SIGTERM, lambda s, f: _on_sigterm(s, f, prev))

"""One writer per store: OUT/writer.lock names the process that writes OUT (pid, host, start time).

The writer holds an exclusive `flock` on the file for as long as it runs, so the kernel releases it
when the process dies however it dies; the file's content says who holds it, for the refusal message
and for readers that ask whether a `running` run is really running. A clean exit empties the file.
Taking the lock is the only thing a second writer does before it is refused.

Local filesystems only: `flock` on NFS or SMB is emulated or ignored depending on client and server,
so two hosts writing one store over a network filesystem are not reliably kept apart. A record left
by a process on another host cannot be checked from here; the refusal says which file to delete.
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path

from tffnoise.errors import UserError

LOCK_NAME = "writer.lock"


class StoreLocked(UserError):
    def __init__(self, root, info: dict, why: str = ""):
        self.info = info
        super().__init__(f"{root}: already being written by {describe(info)}{why}; wait for it to finish or "
                         f"stop it (readers such as `tffnoise runs {root}` work meanwhile)")


def describe(info: dict) -> str:
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("started") or 0))
    return f"pid {info.get('pid')} on host {info.get('host')} since {started}"


def _read(path: Path) -> dict | None:
    try:
        text = path.read_text()
        info = json.loads(text) if text.strip() else None
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and info.get("pid") else None


def holder(root) -> dict | None:
    """Who the lock file says writes the store; None when it is free (missing, empty, unreadable)."""
    return _read(Path(root) / LOCK_NAME)


def _process_start(pid: int) -> float | None:
    """When a process started (Linux /proc), to tell a holder from an unrelated process that got its pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])
        btime = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                     if line.startswith("btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return btime + ticks / os.sysconf("SC_CLK_TCK")


def holder_alive(info: dict | None) -> bool:
    """The recorded holder is alive: on this host its pid runs a process started before it took the lock;
    on another host we cannot tell and assume it is."""
    if not info:
        return False
    if info.get("host") != socket.gethostname():
        return True
    from tffnoise.runner.store import pid_alive

    if not pid_alive(info.get("pid")):
        return False
    start = _process_start(int(info["pid"]))
    return start is None or start <= float(info.get("started") or 0) + 10.0  # slack: btime is whole seconds, clocks get stepped


class StoreLock:
    def __init__(self, root):
        self.root = Path(root)
        self.path = self.root / LOCK_NAME
        self._fd: int | None = None
        self.stale: dict | None = None  # the dead holder's record this lock took over, if any

    def _lock_fd(self) -> int:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreLocked(self.root, _read(self.path) or {"pid": "?", "host": "?"}) from None
        info = _read(self.path)
        if info and info.get("pid") != os.getpid() and holder_alive(info):
            os.close(fd)
            if info.get("host") != socket.gethostname():
                raise StoreLocked(self.root, info, f" (another host: if that process is gone, delete {self.path})")
            raise StoreLocked(self.root, info, " (its file lock is not held: is OUT on a network filesystem?)")
        self.stale = info
        return fd

    def check(self) -> None:
        """Refuse now if another writer holds the store, without taking it (nothing is written)."""
        if self.path.exists():
            os.close(self._lock_fd())

    def acquire(self) -> "StoreLock":
        self.root.mkdir(parents=True, exist_ok=True)
        fd = self._lock_fd()
        me = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, me, 0)
        os.fsync(fd)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)  # empty = free; the file stays, so no two inodes are ever locked
            finally:
                os.close(self._fd)  # closing drops the flock
                self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()

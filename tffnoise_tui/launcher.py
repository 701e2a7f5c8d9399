"""Start sweeps as detached subprocesses of the project's runner, one at a time, with a queue and cancel.

Each launch runs `python -m tffnoise run FILE --json --out OUT` in its own session (so closing the TUI
leaves it running), with stdout and stderr going to `OUT/launches/<timestamp>.log`. The runner prints
one JSON event per line; `LogTail` reads them back. Cancel sends SIGTERM to the process group; the store
keeps checkpoints, so launching the same file again resumes.
"""
from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tffnoise_tui.log_tail import LogTail, describe_event  # noqa: F401 (the monitor and tests import them here)
from tffnoise_tui.store_reader import StoreReader, pid_alive

QUEUED, RUNNING, DONE, FAILED, CANCELLED, USER_ERROR, ATTACHED, INTERRUPTED = (
    "queued", "running", "done", "failed", "cancelled", "user error", "attached", "interrupted")
STOPPED = (CANCELLED, INTERRUPTED)  # a sweep stopped before its end: its `running` rows are interrupted


@dataclass
class Job:
    config: Path
    out: Path
    preset: str | None = None
    overrides: list[str] = field(default_factory=list)
    state: str = QUEUED
    log: Path | None = None
    pid: int | None = None
    returncode: int | None = None
    started: float | None = None
    ended: float | None = None
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        return self.state in (RUNNING, ATTACHED)

    @property
    def name(self) -> str:
        if self.config and str(self.config) not in ("", "."):
            return Path(self.config).name
        return f"sweep in {Path(self.out).name}"

    def argv(self, runner: list[str]) -> list[str]:
        cmd = [*runner, "run", str(self.config), "--json", "--out", str(self.out)]
        if self.preset:
            cmd += ["--preset", self.preset]
        for o in self.overrides:
            cmd += ["--set", o]
        return cmd


def _stamp(clock) -> str:
    t = clock()
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(t)) + f"-{int((t % 1) * 1000):03d}"


class Launcher:
    """A queue of sweeps; at most one runs. Call `poll()` periodically (the app does, twice a second)."""

    def __init__(self, runner: list[str] | None = None, clock=time.time, env: dict | None = None):
        self.runner = runner or [sys.executable, "-m", "tffnoise"]
        self.clock = clock
        self.env = env
        self.jobs: list[Job] = []

    # --- queue ----------------------------------------------------------------------------------
    def submit(self, job: Job) -> Job:
        job.state = QUEUED
        self.jobs.append(job)
        self.poll()
        return job

    @property
    def current(self) -> Job | None:
        return next((j for j in self.jobs if j.active), None)

    @property
    def queued(self) -> list[Job]:
        return [j for j in self.jobs if j.state == QUEUED]

    def latest(self) -> Job | None:
        """The job the monitor follows: the running one, else the last one started."""
        return self.current or next((j for j in reversed(self.jobs) if j.started), None)

    def poll(self) -> bool:
        """Reap a finished job and start the next queued one. True when something changed."""
        changed = False
        cur = self.current
        if cur is not None:
            code = self._exit_code(cur)
            if code is not None:
                cur.returncode = code
                cur.ended = self.clock()
                if cur.state == ATTACHED:  # no exit code for a process we did not start: the store tells
                    cur.state = INTERRUPTED if self._left_interrupted(cur) else DONE
                elif code < 0 and -code in (signal.SIGTERM, signal.SIGKILL, signal.SIGINT, signal.SIGHUP):
                    cur.state = INTERRUPTED
                else:
                    cur.state = DONE if code == 0 else USER_ERROR if code == 2 else FAILED
                changed = True
                cur = None
        if cur is None and self.queued:
            self._start(self.queued[0])
            changed = True
        return changed

    def _exit_code(self, job: Job) -> int | None:
        if job.proc is not None:
            return job.proc.poll()
        return None if pid_alive(job.pid) else 0

    @staticmethod
    def _left_interrupted(job: Job) -> bool:
        """The job's process is gone and left runs it was writing unfinished."""
        reader = StoreReader(job.out)
        try:
            return any(r.get("status") == INTERRUPTED and str(r.get("pid")) == str(job.pid) for r in reader.rows())
        finally:
            reader.close()

    def _start(self, job: Job) -> None:
        out = Path(job.out)
        (out / "launches").mkdir(parents=True, exist_ok=True)
        job.log = out / "launches" / f"{_stamp(self.clock)}.log"
        with open(job.log, "ab") as log:
            job.proc = subprocess.Popen(job.argv(self.runner), stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True, env=self.env)
        job.pid = job.proc.pid
        job.state = RUNNING
        job.started = self.clock()

    # --- cancel ---------------------------------------------------------------------------------
    def cancel(self, job: Job | None = None) -> Job | None:
        """SIGTERM the running job's process group (or drop a queued job)."""
        job = job or self.current or (self.queued[0] if self.queued else None)
        if job is None:
            return None
        if job.state == QUEUED:
            job.state = CANCELLED
            return job
        if job.active and job.pid:
            try:
                os.killpg(os.getpgid(job.pid), signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
            job.state = CANCELLED
            job.ended = self.clock()
            if job.proc is not None:
                try:
                    job.proc.wait(timeout=0.05)
                except subprocess.TimeoutExpired:
                    pass
        return job

    # --- sweeps started by an earlier TUI ---------------------------------------------------------
    def attach(self, out: Path, pid: int, log: Path | None = None) -> Job:
        for j in self.jobs:
            if j.active and j.pid == pid:
                return j
        job = Job(config=Path(""), out=Path(out), state=ATTACHED, log=log, pid=pid, started=self.clock())
        args = runner_args(pid) or launch_file(out)  # what R needs to relaunch it once it is stopped
        if args:
            job.config, job.preset, job.overrides = args["config"], args.get("preset"), args.get("overrides", [])
        self.jobs.append(job)
        return job

    def discover(self, roots) -> list[Job]:
        """Find sweeps still running in these stores (runs with status running whose pid is alive)."""
        found = []
        seen = set()
        for root in roots:
            root = Path(root).resolve()
            if root in seen or not (root / "index.sqlite").exists():
                continue
            seen.add(root)
            reader = StoreReader(root)
            try:
                live = reader.running()
                logs = reader.launch_logs()
            finally:
                reader.close()
            for pid in sorted({int(r["pid"]) for r in live}):
                found.append(self.attach(root, pid, logs[-1] if logs else None))
        return found


def runner_args(pid) -> dict | None:
    """The recipe, preset and overrides of a running `tffnoise run` process, from /proc (None where absent)."""
    try:
        argv = [a.decode(errors="replace") for a in open(f"/proc/{int(pid)}/cmdline", "rb").read().split(b"\0") if a]
        cwd = Path(os.readlink(f"/proc/{int(pid)}/cwd"))
    except (OSError, ValueError, TypeError):
        return None
    if "run" not in argv:
        return None
    from tffnoise.cli import build_parser  # the command's own parser (argparse only: no TensorFlow)

    try:
        with contextlib.redirect_stderr(io.StringIO()):  # argparse's usage line must not reach the screen
            args, _ = build_parser().parse_known_args(argv[argv.index("run"):])
    except SystemExit:  # not a command line the parser reads
        return None
    return {"config": cwd / args.file, "preset": args.preset, "overrides": list(args.overrides)}


def launch_file(out) -> dict | None:
    """The newest recipe the TUI wrote into the store's launches/ to launch from (Configure's ctrl+r)."""
    try:
        files = sorted(Path(out, "launches").glob("*.toml"))
    except OSError:
        return None
    return {"config": files[-1]} if files else None


def candidate_stores(cwd: Path, extra=()) -> list[Path]:
    """Where run stores usually are: the ones named, `runs/*` and `runs` under the working directory."""
    out = [Path(p) for p in extra if p]
    for base in (cwd / "runs", cwd):
        if (base / "index.sqlite").exists():
            out.append(base)
        if base.is_dir():
            out += sorted(p.parent for p in base.glob("*/index.sqlite"))
    return out

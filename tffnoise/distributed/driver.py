"""The driver side of a Ray sweep: one streaming task per group of runs, their writes applied here.

The driver is the store's only writer (it holds the store's lock, as a local sweep does): a task
sends every metrics row, checkpoint, artifact, summary and index update as a message, and the
driver writes them in the order they were made. A task lost with its worker or node (any Ray
system error) is resubmitted from its runs' last checkpoints, up to `execution.max_retries` times;
then its runs are marked failed and the sweep goes on. An error in the cell itself fails its runs
at once, as locally (it would fail again on any node).
"""
from __future__ import annotations

import dataclasses
import os
import time

from tffnoise.distributed import status
from tffnoise.distributed.config import require_ray
from tffnoise.distributed.proxy import SHIPPED
from tffnoise.errors import UserError
from tffnoise.runner.atomic import write_bytes
from tffnoise.runner.store import FINISHED

STATUS_EVERY_S = 2.0


@dataclasses.dataclass(eq=False)
class Job:
    group: list
    attempts: int
    cpus: float
    gpus: float
    node: dict | None = None


def resources(cfg, cluster_gpus: float) -> tuple[float, float]:
    """(num_cpus, num_gpus) of one cell's task: its threads (0: 1), and the GPUs asked for (-1: one
    where the cluster has GPUs and the engine uses them; TFF's runtime leaves GPUs idle)."""
    e = cfg.execution
    from tffnoise.algorithms import engine

    gpus = e.num_gpus if e.num_gpus >= 0 else float(engine.get(cfg.engine).uses_gpu and cluster_gpus >= 1)
    return float(e.threads or 1), gpus


def shipped(store, group) -> dict:
    """The files a group's cell reads back (checkpoint, metrics), from the store, for the task."""
    out = {}
    for s in group:
        d = store.run_dir(s.run_id)
        out[s.run_id] = {name: (d / name).read_bytes() for name in SHIPPED if (d / name).exists()}
    return out


class RayDriver:
    def __init__(self, store, emit, execution):
        from tffnoise.distributed.task import run_cell

        self.ray = require_ray()
        self.store, self.emit, self.execution = store, emit, execution
        self.remote = self.ray.remote(num_returns="streaming", max_retries=0)(run_cell)
        self.cluster_gpus = float(self.ray.cluster_resources().get("GPU", 0))
        self.jobs: dict = {}  # generator -> Job
        self._status_at = 0.0

    def submit(self, group, attempts: int = 0) -> None:
        cpus, gpus = resources(group[0].config, self.cluster_gpus)
        gen = self.remote.options(num_cpus=cpus, num_gpus=gpus).remote(group, shipped(self.store, group))
        self.jobs[gen] = Job(group, attempts, cpus, gpus)

    def run(self, groups) -> None:
        for g in groups:
            self.submit(g)
        try:
            while self.jobs:
                ready, _ = self.ray.wait(list(self.jobs), num_returns=1, timeout=1.0)
                for gen in ready:
                    self._next(gen)
                self.write_status()
        except BaseException:
            for gen in self.jobs:  # a stopped driver stops its tasks (Ray would, once the driver is gone)
                try:
                    self.ray.cancel(gen, force=True)
                except Exception:
                    pass
            raise
        self.write_status(force=True)

    def _next(self, gen) -> None:
        job = self.jobs[gen]
        try:
            batch = self.ray.get(next(gen))
        except StopIteration:
            del self.jobs[gen]
            return
        except self.ray.exceptions.RayTaskError as exc:  # raised outside the cell (e.g. tffnoise missing there)
            del self.jobs[gen]
            self.fail(job, f"{type(exc.cause).__name__}: {exc.cause}".splitlines()[0][:500])
            return
        except self.ray.exceptions.RayError as exc:  # the worker or its node is gone
            del self.jobs[gen]
            self.lost(job, exc)
            return
        for msg in batch:
            self.apply(job, msg)

    def apply(self, job: Job, msg: tuple) -> None:
        kind, store = msg[0], self.store
        if kind == "node":
            job.node = msg[1]
            self.write_status(force=True)
        elif kind == "file":
            write_bytes(store.run_dir(msg[1]) / msg[2], msg[3])
        elif kind == "metrics":
            store.append_metrics(msg[1], msg[2])
        elif kind == "truncate":
            store.truncate_metrics(msg[1], msg[2])
        elif kind == "update":
            fields = dict(msg[2])
            if "pid" in fields:  # readers trust a running row whose pid holds the store's lock: this one
                fields["pid"] = os.getpid()
            store.update(msg[1], **fields)
        elif kind == "summary":
            store.write_summary(msg[1], {**msg[2], "node": job.node})
        elif kind == "event":
            e = msg[1]
            if e.get("event") == "cell_started" and job.node:
                e = {**e, "node": job.node["host"], "node_id": job.node["node_id"]}
            self.emit(e)
        elif kind == "failed":
            self.fail(job, msg[1])
        elif kind == "user_error":
            raise UserError(msg[1])

    def fail(self, job: Job, msg: str) -> None:
        from tffnoise.runner.sweep import fail_runs

        fail_runs(job.group, self.store, self.emit, msg)

    def lost(self, job: Job, exc: Exception) -> None:
        from tffnoise.runner.sweep import pending_groups

        why = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
        left = [s for s in job.group if self.store.get(s.run_id)["status"] not in FINISHED]
        for s in left:
            self.store.update(s.run_id, status="interrupted")
        if job.attempts >= self.execution.max_retries:
            self.fail(job, f"its Ray task was lost {job.attempts + 1} time(s) (execution.max_retries = "
                           f"{self.execution.max_retries}); last: {why}")
            return
        self.emit({"event": "cell_retried", "runs": [s.run_id for s in left], "attempt": job.attempts + 1,
                   "error": why})
        for group in pending_groups(left, self.store):
            self.submit(group, job.attempts + 1)

    def write_status(self, force: bool = False) -> None:
        now = time.time()
        if not force and now - self._status_at < STATUS_EVERY_S:
            return
        self._status_at = now
        try:
            snap = status.snapshot(self.ray.nodes(), list(self.jobs.values()), self.execution.address,
                                   self.ray.available_resources())
        except Exception:  # the status file is for people; the sweep never stops for it
            return
        status.write(self.store.root, snap)


def run_on_ray(groups, store, emit, execution) -> None:
    RayDriver(store, emit, execution).run(groups)

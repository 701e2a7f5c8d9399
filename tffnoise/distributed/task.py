"""What a Ray worker runs for one cell: `execute_cell` against a ProxyStore, its writes streamed back.

The cell runs in a thread; the task's generator yields its messages in batches (one Ray object per
batch, not per metrics row). Errors are messages too, so the driver never depends on an exception
surviving pickling: ("failed", msg) fails the cell's runs, ("user_error", msg) stops the sweep.
"""
from __future__ import annotations

import os
import queue
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

BATCH_S = 0.05  # how long a batch gathers messages after its first
_PREPARED: set = set()  # engine kinds prepared in this worker process


def node_info() -> dict:
    import ray

    return {"node_id": ray.get_runtime_context().get_node_id(), "host": socket.gethostname(),
            "ip": ray.util.get_node_ip_address(), "pid": os.getpid()}


def _prepare(specs) -> None:
    from tffnoise.algorithms import engine as engines
    from tffnoise.runner.gpus import configure_gpus

    configure_gpus()
    if specs[0].config.engine not in _PREPARED:
        engines.prepare([specs[0].config])
        _PREPARED.add(specs[0].config.engine)


def _work(specs, files: dict, put) -> None:
    from tffnoise.distributed.proxy import ProxyStore
    from tffnoise.errors import UserError
    from tffnoise.runner.cell import execute_cell
    from tffnoise.runner.sweep import dataset_for, failure_message

    scratch = Path(tempfile.mkdtemp(prefix="tffnoise-cell-"))
    store = None
    try:
        store = ProxyStore(scratch, files, put)
        _prepare(specs)
        cfg = specs[0].config
        execute_cell(specs, store, cfg.engine, lambda e: put(("event", e)), dataset_for(cfg))
    except Exception as exc:
        try:
            put(("failed", failure_message(exc)))
        except UserError as user:
            put(("user_error", str(user)))
    finally:
        if store is not None:
            store.close()
        shutil.rmtree(scratch, ignore_errors=True)


def run_cell(specs, files: dict):
    """The Ray task (wrapped by the driver with ray.remote(num_returns="streaming")): yields lists of
    messages, the first one [("node", where this runs)]. The cell keeps its execution.threads: the
    stacked engine's last digits depend on how its repeats are grouped into threads, and a cell must
    give the numbers it gives locally."""
    from tffnoise.tflog import quiet_tensorflow

    quiet_tensorflow()
    yield [("node", node_info())]
    q: queue.Queue = queue.Queue()
    done = object()

    def target():
        try:
            _work(specs, files, q.put)
        finally:
            q.put(done)

    threading.Thread(target=target, name="tffnoise-cell", daemon=True).start()
    finished = False
    while not finished:
        batch = [q.get()]
        until = time.monotonic() + BATCH_S
        while batch[-1] is not done and (left := until - time.monotonic()) > 0:
            try:
                batch.append(q.get(timeout=left))
            except queue.Empty:
                break
        finished = batch[-1] is done
        batch = [m for m in batch if m is not done]
        if batch:
            yield batch

"""A sweep: register every run, then execute the unfinished cells; rerunning resumes.

Finished runs (done or diverged) are skipped; unfinished ones continue from their checkpoint; a run
that fails is marked failed with its error and the sweep goes on. Mistakes the user can fix (a missing
data file, a model the engine cannot run) stop the sweep before anything is written.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import sys
import time

from tffnoise.algorithms import engine as engines
from tffnoise.config import expand, to_toml
from tffnoise.config.sweep import canonical
from tffnoise.errors import UserError
from tffnoise.records.labels import index_row
from tffnoise.runner.lock import StoreLock, describe
from tffnoise.runner.store import FINISHED, Store, warn

_DATA_CACHE: dict = {}


def dataset_for(cfg):
    from tffnoise.algorithms.problem import load_data

    key = canonical({"data": cfg.to_dict()["data"], "seed": cfg.experiment.seed})
    if key not in _DATA_CACHE:
        _DATA_CACHE[key] = load_data(cfg, cfg.experiment.seed)
    return _DATA_CACHE[key]


def preflight(specs) -> None:
    """Load each dataset and build each model once, so user errors surface before the store is touched."""
    check_data(specs)
    check_models(specs)


def check_data(specs) -> None:
    """Every setting's data-size checks (no TensorFlow: they run before the GPUs are configured)."""
    from tffnoise.config.validate import check_data_fit

    fitted = set()
    for spec in specs:
        if spec.setting_id not in fitted:
            fitted.add(spec.setting_id)
            check_data_fit(spec.config, dataset_for(spec.config))


def check_models(specs) -> None:
    """Build each distinct model once where its engine checks models (or a plug-in builder must be called
    to be known), so a model the engine cannot run stops the sweep before anything is written."""
    seen = set()
    for spec in specs:
        cfg = spec.config
        d = cfg.to_dict()
        key = (canonical(d["data"]), canonical(d["model"]), canonical(d["noise"]), cfg.engine)
        check = engines.model_check(cfg.engine)
        if key in seen or not (check or cfg.model.builder):
            continue
        seen.add(key)
        from tffnoise.models.builders import build_model, check_plugin
        from tffnoise.noise.registry import build

        ds = dataset_for(cfg)
        model = build_model(cfg.model, ds.x_train.shape[1:], ds.num_classes, build(cfg.noise), 0)
        if cfg.model.builder:
            check_plugin(cfg, model)
        if check:
            check(model)


def _is_run_failure(exc: Exception) -> bool:
    """A worker lost mid-run fails that run only; rerunning resumes it once the worker is back."""
    try:
        from tffnoise.execution.remote import CallTimeoutError, WorkerUnavailableError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, (WorkerUnavailableError, CallTimeoutError))


def plan(base: dict):
    specs = expand(base)
    cells = [list(g) for _, g in itertools.groupby(specs, key=lambda s: s.setting_id)]
    return specs, cells


def register(store: Store, spec, extra: dict) -> None:
    """Put one run in the store (idempotent): its index row with labels, config.toml and run.json."""
    meta = {"run_id": spec.run_id, "setting_id": spec.setting_id, "repeat": spec.repeat,
            "overrides": [[k, v] for k, v in spec.overrides], "seed": spec.config.experiment.seed,
            "config": spec.config.to_dict(), **extra}
    row = {"setting_id": spec.setting_id, "repeat": spec.repeat, **index_row(spec.config, spec.overrides, spec.config.engine)}
    store.register(spec.run_id, row, to_toml(spec.config), meta)


def run_sweep(base: dict, emit=lambda e: None, checked=lambda specs: None) -> dict:
    """`checked(specs)` is called once the checks that need no TensorFlow have passed (the store is free,
    every dataset fits), before TensorFlow is imported: a caller says there what is about to run."""
    from tffnoise.runner.gpus import configure_gpus

    from tffnoise.distributed.cluster import session
    from tffnoise.distributed.config import require_ray, sweep_backend

    specs, cells = plan(base)
    execution = sweep_backend(specs)
    if execution.backend == "ray":
        require_ray()  # a missing extra is one line, before anything is loaded or written
    out = specs[0].config.out
    lock = StoreLock(out)
    lock.check()  # a second writer is refused before it loads anything
    check_data(specs)
    checked(specs)
    configure_gpus()
    check_models(specs)
    engines.prepare(s.config for s in specs)  # e.g. the TFF engine's execution context
    with session(execution), lock:  # an unreachable Ray cluster is refused before the store is touched
        if lock.stale:
            print(f"warning: {lock.path}: took over the lock left by {describe(lock.stale)}, which is no longer "
                  "running", file=sys.stderr)
        return _sweep(specs, cells, Store(out), emit)


def _sweep(specs, cells, store: Store, emit) -> dict:
    from tffnoise.runner import provenance

    prov = provenance.collect()
    for s in specs:
        register(store, s, {"provenance": prov})
    for s in specs:  # a finished run whose files were damaged since is not finished
        problem = store.check_finished(s.run_id)
        if problem:
            warn(problem)
    total = len(specs)
    done_before = sum(1 for s in specs if store.get(s.run_id)["status"] in FINISHED)
    emit({"event": "sweep_started", "out": str(store.root), "runs": total, "finished": done_before,
          "cells": len(cells)})
    t0 = time.time()
    try:
        _run_cells(cells, store, emit)
    except BaseException:  # Ctrl-C (or any stop): say so now rather than leave readers to notice the dead pid
        with contextlib.suppress(Exception):  # never mask the stop itself
            for r in store.all("running"):
                if r["pid"] == os.getpid():
                    store.update(r["run_id"], status="interrupted")
        raise
    rows = [store.get(s.run_id) for s in specs]
    result = {"out": str(store.root), "runs": total, "wall_s": time.time() - t0,
              "status": {st: sum(1 for r in rows if r["status"] == st) for st in ("done", "diverged", "failed")},
              "synthetic": any(r["synthetic"] for r in rows), "rows": rows}
    emit({"event": "sweep_finished", **{k: v for k, v in result.items() if k != "rows"}})
    store.close()
    return result


def _run_cells(cells, store: Store, emit) -> None:
    """Hand the cells' pending groups to the sweep's backend: this process, or Ray (tffnoise/distributed)."""
    from tffnoise.distributed.config import sweep_backend

    execution = sweep_backend([s for cell in cells for s in cell])
    if execution.backend == "ray":
        from tffnoise.distributed.driver import run_on_ray

        run_on_ray([g for cell in cells for g in pending_groups(cell, store)], store, emit, execution)
        return
    from tffnoise.runner.cell import execute_cell

    for cell in cells:
        for group in pending_groups(cell, store):
            try:
                execute_cell(group, store, group[0].config.engine, emit, dataset_for(group[0].config))
            except Exception as exc:  # one failed cell must not stop the sweep
                fail_runs(group, store, emit, failure_message(exc))


def pending_groups(cell, store: Store) -> list:
    """A cell's unfinished runs, grouped by the round their checkpoints resume from (each group is one
    engine): also how a cell whose Ray task was lost is resubmitted."""
    from tffnoise.runner.cell import load_checkpoint

    pending = [s for s in cell if store.get(s.run_id)["status"] not in FINISHED]
    by_round: dict = {}
    for s in pending:
        ck = load_checkpoint(store, s.run_id)
        by_round.setdefault(int(ck["round"]) if ck is not None else 0, []).append(s)
    return [group for _, group in sorted(by_round.items())]


def failure_message(exc: Exception) -> str:
    """What a failed group's runs record. A user error (other than a lost TFF worker) is raised again:
    it stops the sweep, as it would have before anything ran."""
    if isinstance(exc, UserError):
        if not _is_run_failure(exc):
            raise exc
        return str(exc)
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:500]


def fail_runs(group, store: Store, emit, msg: str) -> None:
    for s in group:
        store.update(s.run_id, status="failed", error=msg)
        emit({"event": "run_failed", "run_id": s.run_id, "error": msg})

"""Shared fixtures for the TUI tests: a small run store built without TensorFlow, a fake launcher that
replays recorded runner events, a fixed device probe."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tffnoise.runner.store import Store
from tffnoise_tui.devices import DeviceReport
from tffnoise_tui.launcher import RUNNING, Job, Launcher

FIXTURES = Path(__file__).parent / "fixtures"
SETUP = "periodic-averaging m=10"


def _row(mech, dist, level, rep, status="done", acc=None, loss=None, rounds=20, rnd=None, **extra):
    return {"setting_id": f"s-{mech}-{level}", "experiment": "quickstart", "repeat": rep, "status": status,
            "round": rounds if rnd is None else rnd, "rounds": rounds, "engine": "stacked",
            "protocol": "periodic-averaging", "mechanism": mech, "distribution": dist, "level": level,
            "setup": SETUP, "dataset": "digits", "synthetic": 0, "test_accuracy": acc, "test_loss": loss,
            **extra}


def _config_toml(row: dict) -> str:
    """The run's resolved config, as the runner writes it: reports group by it (setting and clean reference)."""
    from tffnoise.config import to_toml
    from tffnoise.config.schema import Config

    cfg = Config().to_dict()
    cfg["experiment"]["name"] = row["experiment"]
    cfg["training"]["protocol"] = row["protocol"]
    cfg["training"]["rounds"] = row["rounds"]
    cfg["noise"] = {row["mechanism"]: {"distribution": row["distribution"], "level": row["level"], "schedule": "step",
                                       "decay": "none", "gamma": 0.55}}
    return to_toml(cfg)


def build_store(root: Path, *, dp: bool = True, running_pid: int | None = None) -> Store:
    """Clean and noisy groups (3 repeats each), one diverged run, optional DP runs and a running run."""
    if root.exists():
        shutil.rmtree(root)
    store = Store(root)
    runs = []
    accs = {0.0: [0.82, 0.77, 0.80], 0.5: [0.84, 0.83, 0.79], 2.0: [0.61, 0.58, 0.66]}
    i = 0
    for level, vals in accs.items():
        for rep, acc in enumerate(vals):
            runs.append((f"r{i:03d}aaaaaaaa", _row("weights", "uniform", level, rep, acc=acc, loss=1.6 - acc)))
            i += 1
    runs.append(("divergedrun1", _row("weights", "uniform", 8.0, 0, status="diverged", rnd=7, diverged_round=7)))
    if dp:
        for rep, (eps, auc, acc) in enumerate([(1.5, 0.52, 0.70), (1.2, 0.51, 0.68)]):
            runs.append((f"dp{rep:03d}bbbbbbb", _row("gradient", "gaussian", 1.1, rep, acc=acc, loss=0.9,
                                                     epsilon=eps, mia_auc=auc)))
    if running_pid is not None:
        runs.append(("running00001", _row("weights", "uniform", 1.0, 0, status="running", rnd=5, pid=running_pid)))
    for n, (rid, row) in enumerate(runs):
        meta = {"run_id": rid, "provenance": {"devices": ["CPU:/physical_device:CPU:0"]}}
        store.register(rid, row, _config_toml(row), meta)
        store.update(rid, **{k: v for k, v in row.items() if k not in ("setting_id",)})
        with store.tx() as con:  # fixed times: deterministic ordering and snapshots
            con.execute("UPDATE runs SET created=?, updated=? WHERE run_id=?", (1000.0 + n, 1000.0 + n, rid))
        last = row["round"] or 0
        diverged = row["status"] == "diverged"
        for r in range(1, last + 1 - diverged):
            m = {"round": r, "train_loss": 2.3 - 0.05 * r, "train_accuracy": 0.1 + 0.03 * r,
                 "cumulative_train_loss": 2.0 * r}
            if r % 2 == 0 or r == last:
                m.update(test_accuracy=min(0.95, 0.1 + 0.035 * r), test_loss=2.2 - 0.05 * r)
            store.append_metrics(rid, m)
        if diverged:  # as the runner writes it: the round that diverged is a marker, not a metrics row
            store.append_metrics(rid, {"round": last, "diverged": True, "reason": "non-finite loss or weights"})
    store.close()
    return store


def fake_report() -> DeviceReport:
    return DeviceReport(gpus=[], nvml_error="NVML Shared Library Not Found", cpu_percent=25.0, cpu_count=2,
                        ram_used_mb=4096.0, ram_total_mb=16384.0, load=(0.5, 0.4, 0.3))


class FakeLauncher(Launcher):
    """Replays a recorded event file into the job's launch log, `per_poll` lines per poll; no process."""

    def __init__(self, events: Path, per_poll: int = 1000, hold: bool = False, **kw):
        super().__init__(**kw)
        self.hold = hold  # keep "running" after the last event (until cancelled)
        self.events = Path(events).read_text().splitlines(keepends=True)
        self.per_poll = per_poll
        self.written = 0
        self.cancelled = False

    def _start(self, job: Job) -> None:
        (Path(job.out) / "launches").mkdir(parents=True, exist_ok=True)
        job.log = Path(job.out) / "launches" / "fake.log"
        job.log.write_text("")
        job.state, job.pid, job.started = RUNNING, None, self.clock()

    def _exit_code(self, job: Job):
        if self.written < len(self.events):
            chunk = self.events[self.written:self.written + self.per_poll]
            with open(job.log, "a") as f:
                f.writelines(chunk)
            self.written += len(chunk)
            return None
        return None if self.hold else 0

    def cancel(self, job=None):
        job = job or self.current
        if job is not None:
            self.cancelled = True
            job.state = "cancelled"
        return job


@pytest.fixture
def store_root(tmp_path) -> Path:
    root = tmp_path / "store"
    build_store(root)
    return root


def make_app(store: Path, **kw):
    from tffnoise_tui.app import TffnoiseApp

    kw.setdefault("recipes", FIXTURES / "recipes")
    kw.setdefault("probe", fake_report)
    kw.setdefault("clock", lambda: 1000.0)
    kw.setdefault("poll_interval", 3600)
    kw.setdefault("device_interval", 3600)
    kw.setdefault("discover", False)
    kw.setdefault("allow_open", False)
    return TffnoiseApp(store=store, **kw)


async def settle(pilot):
    """Wait until the screen is whole: the Configure form's later sections, Results' statistics."""
    form = pilot.app.screen.query("#form")
    while form and not form.first().ready:
        await pilot.pause(0.02)
    while not getattr(pilot.app.screen, "stats_ready", True):
        await pilot.pause(0.02)
    await pilot.pause()


def held_sweep_app(tmp_path, *, size=(80, 24)):
    """A store with a run `running` under this process, a held fake sweep on it and an app on the Monitor
    whose clock the test moves: returns (store root, clock cell, launcher, app)."""
    import os

    from tffnoise_tui.launcher import Job

    root = tmp_path / "store"
    build_store(root, dp=False, running_pid=os.getpid())
    now = [1000.0]
    launcher = FakeLauncher(FIXTURES / "diverged_events.jsonl", per_poll=3, hold=True, clock=lambda: now[0])
    launcher.submit(Job(config=tmp_path / "syn.toml", out=root))
    return root, now, launcher, make_app(root, launcher=launcher, start_mode="monitor", clock=lambda: now[0])


def pytest_collection_modifyitems(items):
    """Run `async def` tests in this folder with asyncio.run (no pytest-asyncio in the project)."""
    import asyncio
    import functools
    import inspect

    for item in items:
        fn = getattr(item, "obj", None)
        if inspect.iscoroutinefunction(fn) and "tests/tui/" in str(item.fspath).replace("\\", "/"):
            @functools.wraps(fn)
            def sync(*args, __fn=fn, **kwargs):
                return asyncio.run(__fn(*args, **kwargs))

            item.obj = sync


async def open_form(pilot, *sections: str):
    """The Configure form once validated, with these sections opened (the others stay closed)."""
    from tffnoise_tui.widgets.config_form import ConfigForm

    form = pilot.app.screen.query_one("#form", ConfigForm)
    while not form.ready:
        await pilot.pause(0.02)
    for sec in sections:
        await form.section(sec).open()
    await pilot.pause()
    return form

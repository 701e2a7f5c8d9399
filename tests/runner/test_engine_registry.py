"""Engines are chosen through tffnoise.algorithms.engine: a test registers one (a constant NumPy model)
and runs a sweep through the real runner with it, no file of tffnoise/ changed."""
import ast
import re
from pathlib import Path

import numpy as np
import pytest

from tffnoise import engines as names
from tffnoise.algorithms import engine as engines
from tffnoise.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
QUICK = str(ROOT / "recipes" / "quickstart.toml")


class ConstantEngine:
    """Predicts, in every repeat, the most frequent class of its learners' training labels."""

    name = "numpy-const"

    def __init__(self, problem):
        self.p = problem
        self.R = len(problem.repeats)
        self.selection = np.ones((problem.rounds, self.R, problem.learners), np.float32)
        self.noise_multiplier = None
        self.classes = np.array([np.bincount(y.ravel(), minlength=problem.num_classes).argmax()
                                 for y in problem.y_clients])
        self._round = 0

    @property
    def round(self) -> int:
        return self._round

    def run_rounds(self, n):
        out = []
        for _ in range(n):
            self._round += 1
            out.append({"finite": np.ones(self.R, bool), "train_loss": np.full(self.R, 1.0 / self._round)})
        return out

    def evaluate(self, split="test"):
        if split != "test":
            return {}
        acc = np.array([np.mean(self.p.y_test == c) for c in self.classes])
        return {"test_accuracy": acc, "test_loss": 1.0 - acc}

    def get_state(self):
        return {"round": np.int64(self._round), "classes": self.classes.copy()}

    def set_state(self, st):
        self._round, self.classes = int(st["round"]), np.asarray(st["classes"])

    def split_states(self, st):
        return [{"round": st["round"], "classes": st["classes"][ri:ri + 1]} for ri in range(self.R)]

    def join_states(self, states):
        return {"round": states[0]["round"], "classes": np.concatenate([s["classes"] for s in states])}

    def predict_proba(self, x):
        return np.stack([np.eye(self.p.num_classes)[np.full(len(x), c)] for c in self.classes])

    def final_weights(self, ri):
        return [w[ri] for w in self.p.init_weights]


@pytest.fixture
def fake_engine(monkeypatch):
    calls = {"prepare": 0, "check": 0}

    def prepare(cfg):
        calls["prepare"] += 1

    def check(model):
        calls["check"] += 1

    names.declare("numpy-const", "a constant NumPy model (tests)")   # the config's choices read this table
    engines.register(engines.EngineInfo("numpy-const", ConstantEngine, prepare=prepare, check_model=check))
    yield calls
    engines.unregister("numpy-const")
    names.forget("numpy-const")


def test_the_names_table_and_the_registry_agree():
    """tffnoise/engines.py is the one list: the registry holds exactly its names, the config's choices and
    the CLI's --engine are it, and an engine not declared there cannot be registered."""
    from tffnoise.cli import build_parser
    from tffnoise.config.schema import Config

    assert engines.names() == names.names() == ("stacked", "tff") and engines.unregistered() == []
    assert tuple(Config.__dataclass_fields__["engine"].metadata["choices"]) == names.names()
    assert [build_parser().parse_args(["run", QUICK, "--engine", n]).engine for n in names.names()] == ["stacked", "tff"]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", QUICK, "--engine", "numpy-const"])
    with pytest.raises(ValueError, match="engines.py"):
        engines.register(engines.EngineInfo("undeclared", ConstantEngine))
    assert "undeclared" not in engines.names()
    names.declare("declared-only", "no implementation")
    try:
        assert engines.unregistered() == ["declared-only"]
    finally:
        names.forget("declared-only")


def test_a_declared_engine_is_a_config_choice(fake_engine):
    from tffnoise.config import load_config

    assert load_config(QUICK, [("engine", "numpy-const")], "smoke").engine == "numpy-const"
    with pytest.raises(ConfigError, match="numpy-const"):   # the allowed values name it
        load_config(QUICK, [("engine", "nope")], "smoke")


def test_runner_rerun_recipes_and_cli_never_name_an_engine():
    pattern = re.compile(r"""["'](tff|stacked)["']|engine\s*==""")
    files = [*(ROOT / "tffnoise" / "runner").glob("*.py"), *(ROOT / "tffnoise" / "recipes").glob("*.py"),
             *(ROOT / "tffnoise").glob("cli*.py"), *(ROOT / "tffnoise" / "distributed").glob("*.py")]
    assert [f.name for f in files if pattern.search(f.read_text())] == []


def test_unknown_engine_is_a_config_error_naming_the_field():
    with pytest.raises(ConfigError, match="engine"):
        engines.build("nope", None)


def test_builtin_engines_implement_the_protocol():
    """Read from their source (importing them costs TensorFlow and TFF): each registered class defines
    the protocol's methods and its registry name, and gets `round` (an attribute or a property)."""
    for name in ("stacked", "tff"):
        module, cls_name = engines.get(name).impl.split(":")
        tree = ast.parse((ROOT / (module.replace(".", "/") + ".py")).read_text())
        cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls_name)
        defs = {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}
        assert [m for m in engines.METHODS if m not in defs] == []
        assert f"name = {name!r}" in ast.unparse(cls) and ("round" in defs or "self.round =" in ast.unparse(cls))


@pytest.mark.slow
def test_a_registered_engine_runs_a_sweep_through_the_runner(tmp_path, fake_engine):
    from tffnoise.config import load_dict
    from tffnoise.runner.store import open_store
    from tffnoise.runner.sweep import run_sweep

    out = tmp_path / "s"
    base = load_dict(QUICK, [("engine", "numpy-const"), ("out", str(out)), ("experiment.repeats", 2)], "smoke")
    events = []
    result = run_sweep(base, events.append)
    assert result["status"] == {"done": 4, "diverged": 0, "failed": 0}
    assert fake_engine == {"prepare": 1, "check": 2}  # once per engine kind; once per distinct model (noise differs)
    # every cell reports where its time went, parts within its wall time (runner/timings.py)
    started = [e for e in events if e["event"] == "cell_started"]
    finished = [e for e in events if e["event"] == "cell_finished"]
    assert [e["runs"] for e in finished] == [e["runs"] for e in started]
    for e in finished:
        t = e["timings_s"]
        parts = [t[k] for k in ("setup", "compile", "train", "evaluate", "bookkeeping", "attacks")]
        assert min(parts) >= 0 and t["bookkeeping"] > 0 and t["attacks"] > 0
        assert sum(parts) + t["other"] <= t["wall"] + 1e-3
    store = open_store(out)
    rows = store.all()
    assert {r["engine"] for r in rows} == {"numpy-const"} and all(r["round"] == r["rounds"] == 4 for r in rows)
    for r in rows:
        summary = store.read_json(r["run_id"], "summary.json")
        assert summary["engine"] == "numpy-const" and summary["final"]["test_accuracy"] == r["test_accuracy"]
        assert [m["round"] for m in store.read_metrics(r["run_id"])] == [1, 2, 3, 4]
        assert (store.run_dir(r["run_id"]) / "model.keras").exists()
    # the accuracy is the constant model's, computed again here from the store's own data
    from tffnoise.algorithms.problem import prepare
    from tffnoise.config import config_from_dict

    cfg = config_from_dict(store.read_json(rows[0]["run_id"], "run.json")["config"])
    p = prepare(cfg, [0, 1])
    assert isinstance(ConstantEngine(p), engines.Engine)  # the protocol's members, checked at run time
    want = [np.mean(p.y_test == np.bincount(y.ravel()).argmax()) for y in p.y_clients]
    got = [r["test_accuracy"] for r in rows if r["setting_id"] == rows[0]["setting_id"]]
    assert np.allclose(sorted(got), sorted(want))
    store.close()
    again = []
    run_sweep(base, again.append)  # finished: resumes nothing
    assert not any(e["event"] == "cell_started" for e in again)


def test_a_cell_starts_with_the_last_checkpoint_cost_of_its_shape(tmp_path, fake_engine, monkeypatch):
    """The first cell of a shape checkpoints once its first chunk ends (its cost is unknown); a later cell
    of the same shape starts with that cost, so it waits until 1/CHECKPOINT_SHARE times it has passed: a
    fast cell writes none. A deliberate error tried: starting every cell at cost 0 fails here."""
    import time as _time

    from tffnoise.config import load_dict
    from tffnoise.runner import cell
    from tffnoise.runner.sweep import run_sweep

    writes = []

    def slow_save(store, run_id, state):  # a checkpoint that costs 0.2 s: later cells wait 2 s
        writes.append(run_id)
        _time.sleep(0.2)

    monkeypatch.setattr(cell, "save_checkpoint", slow_save)
    monkeypatch.setattr(cell, "CHECKPOINT_EVERY_S", 1e-9)
    monkeypatch.setattr(cell, "_LAST_COST", {})
    base = load_dict(QUICK, [("engine", "numpy-const"), ("out", str(tmp_path / "s")), ("experiment.repeats", 2)], "smoke")
    cells = []
    run_sweep(base, lambda e: cells.append(e["runs"]) if e["event"] == "cell_started" else None)
    assert len(cells) == 2
    assert set(writes) == set(cells[0])  # the first cell: one checkpoint per run, after its first round
    assert len(cell._LAST_COST) == 1 and next(iter(cell._LAST_COST.values())) >= 0.2


def test_no_checkpoint_is_written_after_the_last_round(tmp_path, fake_engine, monkeypatch):
    """With a checkpoint due every round (interval 0, one round per chunk), a run writes one after each
    round but the last: its summary follows at once, and a stop before it resumes from the one before.
    A deliberate error tried: `t <= problem.rounds` in the cell's checkpoint test fails here."""
    from tffnoise.config import load_dict
    from tffnoise.runner import cell
    from tffnoise.runner.sweep import run_sweep

    saved = []
    monkeypatch.setattr(cell, "save_checkpoint", lambda store, run_id, st: saved.append((run_id, int(st["round"]))))
    monkeypatch.setattr(cell, "CHECKPOINT_EVERY_S", 0.0)
    monkeypatch.setattr(cell, "CHUNK_S", 0.0)
    base = load_dict(QUICK, [("engine", "numpy-const"), ("out", str(tmp_path / "s")), ("experiment.repeats", 2)], "smoke")
    runs = []
    run_sweep(base, lambda e: runs.extend(e["runs"]) if e["event"] == "cell_started" else None)
    rounds = base["training"]["rounds"]
    assert rounds >= 2 and len(runs) == 4
    assert sorted(saved) == sorted((r, t) for r in runs for t in range(1, rounds))

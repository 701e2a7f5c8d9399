"""The one engine interface, and the registry that chooses an implementation by the config's `engine`.

The runner, `tffnoise rerun` and the recipes talk to engines only through this module: they never name
one. An engine is built from a prepared `Problem` (tffnoise/algorithms/problem.py), runs rounds up to the
next evaluation, evaluates, gives its state as a checkpoint (a dict of NumPy arrays, one per run through
`split_states`) and takes it back, and predicts for the membership-inference attacks. The registry entry
also says what must happen before any engine of that kind is built (the TFF engine needs its execution
context) and how the runner's preflight checks a model for it (the stacked engine refuses layers it has
no stacked form of), so neither is an `if engine == ...` anywhere.

Light to import (no TensorFlow). The names live in tffnoise/engines.py (TF-free, outside this package,
read by the config, the CLI and the TUI); `register` refuses a name not there, and
tests/runner/test_engine_registry.py checks that every name there is registered (`unregistered`).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, Protocol, runtime_checkable

import numpy as np

from tffnoise import engines as _names
from tffnoise.errors import ConfigError


@runtime_checkable
class Engine(Protocol):
    """What the runner calls. `run_rounds(n)` returns one dict per round of per-repeat arrays [R]
    (`finite` plus metrics such as `train_loss`); `evaluate(split)` a dict of per-repeat arrays
    (`test_accuracy`, `test_loss`, or `val_*`; empty when the split does not exist)."""

    name: str
    selection: np.ndarray               # which learners each round trained (trained_examples reads it)
    noise_multiplier: float | None      # the resolved DP z the runner reports ε for; None without DP

    @property
    def round(self) -> int: ...
    def run_rounds(self, n: int) -> list[dict]: ...
    def evaluate(self, split: str = "test") -> dict: ...
    def get_state(self) -> dict: ...
    def set_state(self, st: dict) -> None: ...
    def split_states(self, st: dict) -> list[dict]: ...
    def join_states(self, states: list[dict]) -> dict: ...
    def predict_proba(self, x: np.ndarray) -> np.ndarray: ...     # [R, N, out]
    def final_weights(self, ri: int) -> list[np.ndarray]: ...     # repeat ri's model, as Keras weights


#: The methods every engine has (the protocol's callables), for conformance checks without building one.
METHODS = ("run_rounds", "evaluate", "get_state", "set_state", "split_states", "join_states",
           "predict_proba", "final_weights")


@dataclass(frozen=True)
class EngineInfo:
    name: str                          # the config's `engine` value
    impl: str | type                   # "package.module:Class" imported when first built, or the class
    prepare: str | Callable | None = None      # prepare(cfg): before any engine of this kind is built
    check_model: str | Callable | None = None  # check_model(keras_model): preflight; raises ConfigError
    doc: str = ""
    uses_gpu: bool = False             # trains on a GPU where there is one (a Ray cell then asks for one)


_REGISTRY: dict[str, EngineInfo] = {}


def register(info: EngineInfo) -> None:
    if info.name not in _names.ENGINES:
        raise ValueError(f"engine {info.name!r} is not in tffnoise/engines.py ENGINES ({', '.join(_names.ENGINES)}): "
                         "declare it there (tffnoise.engines.declare for a plug-in) before registering it")
    _REGISTRY[info.name] = info


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def get(name: str) -> EngineInfo:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError("engine", name, "one of " + ", ".join(_REGISTRY)) from None


def _resolve(ref):
    if ref is None or not isinstance(ref, str):
        return ref
    module, attr = ref.split(":")
    return getattr(importlib.import_module(module), attr)


def build(name: str, problem) -> Engine:
    return _resolve(get(name).impl)(problem)


def prepare(configs) -> None:
    """Run each engine kind's `prepare` once, with the first config that uses it."""
    seen = set()
    for cfg in configs:
        if cfg.engine not in seen:
            seen.add(cfg.engine)
            hook = _resolve(get(cfg.engine).prepare)
            if hook is not None:
                hook(cfg)


def model_check(name: str) -> Callable | None:
    """The engine's preflight check of a built Keras model, or None when it takes any model."""
    return _resolve(get(name).check_model)


register(EngineInfo("stacked", "tffnoise.algorithms.stacked:StackedEngine",
                    check_model="tffnoise.algorithms.forward:stack_plan", uses_gpu=True,
                    doc=_names.ENGINES["stacked"]))
# TFF's C++ runtime leaves GPUs idle (tensorflow-federated #4600, #3709): uses_gpu stays False.
register(EngineInfo("tff", "tffnoise.algorithms.tff_engine:TffEngine", prepare="tffnoise.execution:install_context",
                    doc=_names.ENGINES["tff"]))


def unregistered() -> list[str]:
    """Names tffnoise/engines.py lists that no engine is registered for: none, or the config would offer an
engine that cannot be built (a plug-in declares its name just before registering it)."""
    return [n for n in _names.ENGINES if n not in _REGISTRY]


"""Mechanism name -> what it is: defaults, checks, where it hooks in, its RNG stream, its documentation.

The one list of noise mechanisms. Config validation, the TUI's form, run labels, report grouping and the
docs' noise table all read it, so this module (and the metadata it holds) imports no TensorFlow: the
TF class named by `impl` is imported only when a run builds its mechanisms (`build`).

A built-in mechanism is one module with its class plus one `register(...)` line in `builtins.py`; a
plug-in or a test calls `register` at run time, and `unregister` takes it out again.
"""
from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from typing import Callable

from tffnoise.noise.streams import STREAMS

#: Where a mechanism may act, in the order one local step meets them: the weights at the round's start,
#: the weights before each step, the gradients, the labels of each batch, a noise layer in the model.
HOOKS = ("round_start", "step_params", "gradients", "labels", "layer")


@dataclass(frozen=True)
class MechanismInfo:
    name: str                 # the config table [noise.NAME]
    impl: str | type          # "package.module:Class" (imported lazily), or the class itself
    hooks: frozenset          # a subset of HOOKS
    stream: int               # its RNG stream id (unique; not another purpose's in streams.STREAMS)
    defaults: dict = field(default_factory=dict)  # NoiseSpec values it starts from, e.g. {"schedule": "step"}
    # check(name, spec) raises ConfigError naming noise.NAME.FIELD; a check that also reads the rest of
    # the config takes it as a keyword argument `cfg` (e.g. label noise and data.targets).
    check: Callable | None = None
    where: str = ""
    paper: str = ""
    doc: str = ""

    def run_check(self, spec, cfg=None) -> None:
        if self.check is None:
            return
        if "cfg" in inspect.signature(self.check).parameters:
            self.check(self.name, spec, cfg=cfg)
        else:
            self.check(self.name, spec)

    def load(self) -> type:
        if not isinstance(self.impl, str):
            return self.impl
        module, _, cls = self.impl.partition(":")
        return getattr(importlib.import_module(module), cls)


_REGISTRY: dict[str, MechanismInfo] = {}


def register(info: MechanismInfo) -> MechanismInfo:
    """Add a mechanism; a bad entry is refused with a ValueError naming what is wrong with it."""
    if not isinstance(info.name, str) or not info.name.isidentifier():
        raise ValueError(f"mechanism name {info.name!r}: expected an identifier (it is the table [noise.NAME])")
    if info.name in _REGISTRY:
        raise ValueError(f"mechanism {info.name!r} is already registered")
    unknown = sorted(set(info.hooks) - set(HOOKS))
    if unknown or not info.hooks:
        raise ValueError(f"mechanism {info.name!r}: hooks {sorted(info.hooks)!r}; expected a non-empty subset of "
                         + ", ".join(HOOKS) + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    if isinstance(info.stream, bool) or not isinstance(info.stream, int) or info.stream < 0:
        raise ValueError(f"mechanism {info.name!r}: stream {info.stream!r}; expected an integer ≥ 0")
    taken = next((m.name for m in _REGISTRY.values() if m.stream == info.stream), None)
    if taken is not None:
        raise ValueError(f"mechanism {info.name!r}: stream {info.stream} is already mechanism {taken!r}'s")
    purpose = next((k for k, v in STREAMS.items() if v == info.stream and k != info.name), None)
    if purpose is not None:
        raise ValueError(f"mechanism {info.name!r}: stream {info.stream} is the {purpose!r} stream (noise/streams.py)")
    if not isinstance(info.defaults, dict):
        raise ValueError(f"mechanism {info.name!r}: defaults {info.defaults!r}; expected a dict of NoiseSpec fields")
    if isinstance(info.impl, str) and ":" not in info.impl:
        raise ValueError(f"mechanism {info.name!r}: impl {info.impl!r}; expected 'package.module:Class' or a class")
    _REGISTRY[info.name] = info
    return info


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def get(name: str) -> MechanismInfo:
    return _REGISTRY[name]


def names() -> tuple:
    """Registered mechanisms, in registration order (the order of labels, reports and the form)."""
    return tuple(_REGISTRY)


def ordered(mechanisms) -> list:
    """`mechanisms` (names) in registration order; names no longer registered (an old store) last."""
    order = names()
    return sorted(mechanisms, key=lambda n: order.index(n) if n in order else len(order))


def build(noise: dict) -> list:
    """Mechanism objects for a config's `noise` table (name -> NoiseSpec), in registration order."""
    return [get(name).load()(name, noise[name]) for name in ordered(noise)]


from tffnoise.noise import builtins  # noqa: E402,F401  (registers the built-in mechanisms)

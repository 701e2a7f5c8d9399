"""The engines' names and one-line descriptions: the one list the config's `engine` choices, the CLI's
`--engine`, the TUI's form and the engine registry (algorithms/engine.py) all read.

It lives outside `tffnoise.algorithms` and imports nothing, because the config and the TUI's first
screen must not import the algorithms package (tests/tui/test_startup.py). The registry refuses to
register a name missing here, and a test checks that every name here has a registered engine
(`algorithms.engine.unregistered`), so the two cannot drift. A plug-in engine adds its name here (`declare`) before registering it.
"""
from __future__ import annotations

#: name -> what it is, in the order the CLI and the TUI offer them (the first is the config's default).
ENGINES: dict[str, str] = {
    "stacked": "all learners and repeats of a cell in one TF graph (fast)",
    "tff": "a TFF iterative process per repeat, on a local or remote TFF context",
}


def names() -> tuple[str, ...]:
    return tuple(ENGINES)


def describe() -> str:
    """The config field's help: every engine with its description."""
    return "; ".join(f"'{n}': {doc}" for n, doc in ENGINES.items()) + "."


def declare(name: str, doc: str) -> None:
    """A plug-in engine's name (then `algorithms.engine.register` accepts it and the config allows it)."""
    ENGINES[name] = doc


def forget(name: str) -> None:
    ENGINES.pop(name, None)

"""Small messages the screens and widgets exchange (dataclasses on Textual's Message, whose own
`__post_init__` runs from the dataclass `__init__`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from textual.message import Message


@dataclass
class LaunchRequested(Message):
    """The configure screen asks the app to queue a sweep."""

    config_path: Path
    out: Path
    preset: str | None = None
    overrides: list[str] = field(default_factory=list)



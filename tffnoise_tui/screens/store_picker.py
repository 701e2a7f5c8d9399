"""Open or switch the run store from inside the TUI: the stores found near the working directory (the
launcher's `candidate_stores`), each with its run count, or any path typed."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option


def is_store(path: Path) -> bool:
    return (Path(path) / "index.sqlite").is_file()


def run_count(path: Path) -> int | None:
    """Runs in a store's index, read-only (None when unreadable); the picker shows it beside each store."""
    try:
        con = sqlite3.connect(f"file:{Path(path) / 'index.sqlite'}?mode=ro", uri=True, timeout=1)
        try:
            return int(con.execute("SELECT count(*) FROM runs").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return None


def unique(paths) -> list[Path]:
    seen: dict[Path, None] = {}
    for p in paths:
        seen.setdefault(Path(p).expanduser().resolve(), None)
    return list(seen)


class StorePicker(ModalScreen[Path | None]):
    """Dismisses with the chosen store's path (None: cancelled)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, stores: list[Path], current: Path, display=str, **kw):
        super().__init__(**kw)
        self.stores = unique(stores)
        self.current = Path(current).resolve()
        self.display_path = display

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box"):
            yield Static("[b]Open a run store[/]  ↑↓ enter picks · or type a path · esc cancels")
            options = []
            for p in self.stores:
                n = run_count(p)
                label = Text(self.display_path(p), style="bold" if p == self.current else "")
                label.append(f"  {n if n is not None else '?'} runs" + ("  (open)" if p == self.current else ""),
                             style="dim")
                options.append(Option(label, id=str(p)))
            yield OptionList(*options, id="stores")
            yield Input(placeholder="path to a run store (a folder with index.sqlite)", id="store-path")
            yield Static("", id="picker-error")

    def on_mount(self) -> None:
        stores = self.query_one("#stores", OptionList)
        if self.stores:
            stores.highlighted = self.stores.index(self.current) if self.current in self.stores else 0
            stores.focus()
        else:
            stores.display = False
            self.query_one("#store-path", Input).focus()

    @on(OptionList.OptionSelected, "#stores")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(Path(event.option.id))

    @on(Input.Submitted, "#store-path")
    def _typed(self, event: Input.Submitted) -> None:
        path = Path(event.value.strip()).expanduser()
        if not event.value.strip():
            return
        if not is_store(path):
            self.query_one("#picker-error", Static).update(
                Text(f"{path}: no run store here (no index.sqlite)", style="bold red"))
            return
        self.dismiss(path.resolve())

    def action_cancel(self) -> None:
        self.dismiss(None)

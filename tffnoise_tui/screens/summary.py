"""The report's summary.md, read inside the TUI."""
from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static


class SummaryScreen(ModalScreen):
    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("q", "dismiss", "Close", show=False)]

    def __init__(self, path: Path, **kw):
        super().__init__(**kw)
        self.path = Path(path)

    def compose(self) -> ComposeResult:
        try:
            text = self.path.read_text()
        except OSError as exc:
            text = f"cannot read {self.path}: {exc}"
        with VerticalScroll(id="summary-box"):
            yield Static(Text.assemble((str(self.path), "bold"), "  (esc closes)"), id="summary-path")
            yield Markdown(text, id="summary-text")

    def on_mount(self) -> None:
        self.query_one("#summary-box").focus()

    def action_dismiss(self) -> None:
        self.dismiss()

"""One config section of the form, collapsed to its title line until it is first opened.

Its rows are built with the form (they are read and validated from the start) but mounted only when the
section is opened: mounting and styling every editor of every section was most of the Configure screen's
cold start, and keys waited for it."""
from __future__ import annotations

from textual.widget import AwaitMount, Widget
from textual.widgets import Collapsible


class FormSection(Collapsible):
    DEFAULT_CSS = """
    FormSection { background: transparent; border-top: none; padding: 0; height: auto; }
    FormSection.-open { margin-top: 1; }
    FormSection > CollapsibleTitle { padding: 0; color: $accent; text-style: bold; }
    FormSection > Contents { padding: 0; }
    """

    def __init__(self, name: str, title, widgets: list[Widget], *, open_: bool = False):
        # the class Collapsible sets on mount, set here: adding it then would restyle the section once more
        super().__init__(*(widgets if open_ else ()), title=title, collapsed=not open_, id=f"sec-{name}",
                         classes="-open" if open_ else "-collapsed")
        self.section = name
        self._pending: list[Widget] = [] if open_ else list(widgets)
        self._mounting: AwaitMount | None = None

    @property
    def filled(self) -> bool:
        """Its rows are mounted (or being mounted)."""
        return not self._pending

    def on_collapsible_expanded(self, event: Collapsible.Expanded) -> None:
        if event.collapsible is self:
            self.fill()

    def on_collapsible_collapsed(self, event: Collapsible.Collapsed) -> None:
        if event.collapsible is self:
            self.remove_class("-open")

    def fill(self) -> AwaitMount | None:
        """Mount the rows, once (later calls return the same awaitable)."""
        self.add_class("-open")
        if self._pending:
            widgets, self._pending = self._pending, []
            self._mounting = self.query_one(Collapsible.Contents).mount_all(widgets)
        return self._mounting

    async def open(self) -> None:
        """Expand and wait until the rows are mounted."""
        self.collapsed = False
        mounting = self.fill()
        if mounting is not None:
            await mounting

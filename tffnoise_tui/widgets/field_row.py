"""One config field of the form: its label and editor (a select for choices and booleans, a TOML text
box otherwise, plus a text box for a plug-in 'package.module:function'), and its error under them.

A row is a plain object until its section is opened: `read()` and `syntax_error()` then answer from what
the editor would start with (`editor_start`), so the form validates every field without mounting it."""
from __future__ import annotations

import copy
import dataclasses

from textual import on
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static

from tffnoise.config.fields import resolve_type
from tffnoise_tui.widgets.form_values import PLUGIN, custom_wid, editor_start, parse_text, toml_error, wid


class FieldRow(Widget):
    """Label and editor on one line (a 2-column grid); the error message, when any, on a line under them."""

    DEFAULT_CSS = """
    FieldRow { layout: grid; grid-size: 2; grid-columns: 22 1fr; height: auto; }
    FieldRow > .ferr { column-span: 2; color: $error; padding-left: 2; }
    FieldRow > .custom { column-span: 2; margin-left: 23; }
    """

    def __init__(self, path: str, f: dataclasses.Field, value):
        super().__init__(classes="field")
        self.path, self.f, self.tp = path, f, resolve_type(f)
        self.value = value
        self.error: str | None = None
        self.options, self.start, self.custom_text = editor_start(f.metadata, self.tp, value)
        self._editor: Input | Select | None = None
        self._custom: Input | None = None
        self._cache: tuple | None = None  # (text, value, syntax error)

    def compose(self) -> ComposeResult:
        doc = self.f.metadata.get("doc", "")
        yield Label(self.path.rsplit(".", 1)[-1], classes="fname")
        if self.options is None:
            self._editor = Input(self.start, compact=True, id=wid(self.path), tooltip=doc, select_on_focus=False)
        else:
            self._editor = Select(self.options, value=self.start, allow_blank=False, compact=True, id=wid(self.path),
                                  tooltip=doc)
        yield self._editor
        if self.custom_text is not None:
            self._custom = Input(self.custom_text, placeholder="package.module:function", compact=True,
                                 id=custom_wid(self.path), tooltip=doc, classes="custom", select_on_focus=False)
            self._custom.display = self.start == PLUGIN
            yield self._custom

    def on_mount(self) -> None:
        self._show_error()

    def _value(self):
        """The editor's value (the select's choice or the box's text), mounted or not."""
        return self.start if self._editor is None else self._editor.value

    def _parsed(self, text: str) -> tuple:
        """(value, TOML syntax error) of the box's text, parsed once per text: every validation reads every row."""
        if self._cache is None or self._cache[0] != text:
            self._cache = (text, parse_text(text, self.tp), toml_error(text, self.tp))
        return self._cache[1:]

    def read(self):
        value = self._value()
        if self.options is None:
            return copy.deepcopy(self._parsed(value)[0])  # a copy: the caller may edit the dict it builds
        if value == PLUGIN and self.custom_text is not None:
            return (self.custom_text if self._custom is None else self._custom.value).strip()
        return value

    def syntax_error(self) -> str | None:
        """`path: 'text' is not valid TOML (why)` when the typed text is malformed TOML."""
        if self.options is not None:
            return None
        text = self._value()
        why = self._parsed(text)[1]
        return f"{self.path}: {text.strip()!r} is not valid TOML ({why})" if why else None

    @on(Select.Changed)
    def _plugin_box(self, event: Select.Changed) -> None:
        if self._custom is not None and event.control is self._editor:
            self._custom.display = event.value == PLUGIN
            if event.value == PLUGIN:
                self._custom.focus()

    def set_error(self, msg: str | None) -> None:
        if msg == self.error:
            return
        self.error = msg
        self.set_class(bool(msg), "-error")
        if self.is_mounted:
            self._show_error()

    def _show_error(self) -> None:
        """The error line under the row matches `self.error` (set before the row was mounted, or since)."""
        for old in self.query(".ferr"):
            old.remove()
        if self.error:
            self.mount(Static(self.error, classes="ferr", markup=False))

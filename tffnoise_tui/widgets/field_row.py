"""One config field of the form: its label and editor (a select for choices and booleans, a TOML text
box otherwise, plus a text box for a plug-in 'package.module:function'), and its error under them."""
from __future__ import annotations

import dataclasses

from textual import on
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static

from tffnoise.config.fields import resolve_type
from tffnoise_tui.widgets.form_values import PLUGIN, PLUGIN_LABEL, custom_wid, parse_text, toml_error, toml_value, wid


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
        self._editor = None
        self._custom: Input | None = None

    def compose(self) -> ComposeResult:
        meta = self.f.metadata
        doc = meta.get("doc", "")
        name = self.path.rsplit(".", 1)[-1]
        yield Label(name, classes="fname")
        if meta.get("choices") and meta.get("plugin"):
            # the known values, and a text box for a plug-in 'package.module:function'
            choices = list(meta["choices"])
            custom = isinstance(self.value, str) and self.value not in choices
            ed = Select([(c, c) for c in choices] + [(PLUGIN_LABEL, PLUGIN)],
                        value=PLUGIN if custom else self.value, allow_blank=False, compact=True, id=wid(self.path),
                        tooltip=doc)
            self._custom = Input(self.value if custom else "", placeholder="package.module:function", compact=True,
                                 id=custom_wid(self.path), tooltip=doc, classes="custom", select_on_focus=False)
            self._custom.display = custom
        elif meta.get("choices"):
            choices = list(meta["choices"])
            if self.value not in choices and isinstance(self.value, str):
                choices.append(self.value)  # a bad value from the file stays visible; its error names it
            ed = Select([(c, c) for c in choices], value=self.value if self.value in choices else choices[0],
                        allow_blank=False, compact=True, id=wid(self.path), tooltip=doc)
        elif self.tp is bool:
            ed = Select([("true", True), ("false", False)], value=bool(self.value), allow_blank=False,
                        compact=True, id=wid(self.path), tooltip=doc)
        else:
            text = self.value if (self.tp is str and isinstance(self.value, str)) else toml_value(self.value)
            ed = Input(text, compact=True, id=wid(self.path), tooltip=doc, select_on_focus=False)
        self._editor = ed
        yield ed
        if self._custom is not None:
            yield self._custom

    def read(self):
        w = self._editor
        if isinstance(w, Select):
            if w.value == PLUGIN and self._custom is not None:
                return self._custom.value.strip()
            return w.value
        return parse_text(w.value, self.tp)

    def syntax_error(self) -> str | None:
        """`path: 'text' is not valid TOML (why)` when the typed text is malformed TOML."""
        w = self._editor
        if isinstance(w, Select):
            return None
        why = toml_error(w.value, self.tp)
        return f"{self.path}: {w.value.strip()!r} is not valid TOML ({why})" if why else None

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
        for old in self.query(".ferr"):
            old.remove()
        if msg:
            self.mount(Static(msg, classes="ferr", markup=False))
        self.set_class(bool(msg), "-error")

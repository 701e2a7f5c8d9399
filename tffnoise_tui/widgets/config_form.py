"""A form for every config field, built from the schema's metadata, validated with `config_from_dict`.

Choices become selects, booleans true/false selects, everything else a one-line input whose text is read
as a TOML value (like `--set`), so `[64, 32]`, `0.5` and `{"noise.weights.level" = [0.0, 0.5]}` all work.
Noise mechanisms are `[noise.<mechanism>]` subtables: add one with the select + `add`, drop one with
its `remove` button. Every change re-validates; the first error (the CLI's exact message) is shown
under its field and in the bar at the top.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import re

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import DescendantFocus
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static

from tffnoise.config import schema
from tffnoise.config.fields import resolve_type as field_type
from tffnoise.config.noise import spec_defaults
from tffnoise.noise import registry
from tffnoise.errors import UserError

TOP_FIELDS = ("engine", "out")
SECTION_ORDER = ("experiment", "data", "model", "training", "noise", "privacy", "execution", "sweep")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_value(v) -> str:
    """A value as TOML inline text (for the one-line editors)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        items = ", ".join(f"{k if _BARE_KEY.match(k) else json.dumps(k)} = {toml_value(x)}" for k, x in v.items())
        return "{" + (f" {items} " if items else "") + "}"
    return str(v)


def parse_text(text: str, tp):
    """Input text -> value: strings stay as typed, the rest is read as a TOML value (as `--set` does)."""
    if tp is str:
        return text
    from tffnoise.config.load import parse_value

    text = text.strip()
    if text == "":
        return ""
    return parse_value(text)


def toml_error(text: str, tp) -> str | None:
    """Why a typed list / table / quoted string is not TOML (else None): `parse_value` would keep such text
    as a bare string, and the validator would then say "expected a table" about what is one, mistyped."""
    text = text.strip()
    if tp is str or not text.startswith(("[", "{", '"', "'")):
        return None
    import tomllib

    try:
        tomllib.loads(f"v = {text}")
    except tomllib.TOMLDecodeError as exc:
        return re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or "syntax error"
    return None


def wid(path: str) -> str:
    return "f-" + path.replace(".", "--")


def custom_wid(path: str) -> str:
    """The text box of a field that also takes a plug-in 'package.module:function'."""
    return "c-" + path.replace(".", "--")


PLUGIN = "\x00plugin"  # the Select value that shows the plug-in text box
PLUGIN_LABEL = "plug-in (package.module:function)…"


def path_of(widget_id: str | None) -> str | None:
    if not widget_id or not widget_id.startswith(("f-", "c-")):
        return None
    return widget_id[2:].replace("--", ".")


def normalize_noise(noise) -> dict:
    """`[noise]` with `mechanism = ...` shorthand -> `{mechanism: {...}}`; defaults per mechanism filled in."""
    if not isinstance(noise, dict):
        return {}
    noise = copy.deepcopy(noise)
    spec_keys = {f.name for f in dataclasses.fields(schema.NoiseSpec)}
    flat = {k: noise.pop(k) for k in list(noise) if k in spec_keys}
    mech = noise.pop("mechanism", None)
    if mech and mech != "none":
        noise[mech] = {**noise.get(mech, {}), **flat}
    out = {}
    for name, sub in noise.items():
        if isinstance(sub, dict):
            out[name] = {**mechanism_defaults(name), **sub}
        else:
            out[name] = sub
    return out


def mechanism_defaults(name: str) -> dict:
    """A new table's fields: the mechanism's registry defaults (a name no longer registered: NoiseSpec's)."""
    if name in registry.names():
        return spec_defaults(name)
    return {f.name: f.default for f in dataclasses.fields(schema.NoiseSpec)}


class FieldRow(Widget):
    """Label and editor on one line (a 2-column grid); the error message, when any, on a line under them."""

    DEFAULT_CSS = """
    FieldRow { layout: grid; grid-size: 2; grid-columns: 22 1fr; height: auto; }
    FieldRow > .ferr { column-span: 2; color: $error; padding-left: 2; }
    FieldRow > .custom { column-span: 2; margin-left: 23; }
    """

    def __init__(self, path: str, f: dataclasses.Field, value):
        super().__init__(classes="field")
        self.path, self.f, self.tp = path, f, field_type(f)
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


class ConfigForm(VerticalScroll):
    """Edit a config dict. `data()` returns the edited dict; `Validated` is posted after every check."""

    class Validated(Message):
        def __init__(self, error: str | None, runs: int | None):
            super().__init__()
            self.error, self.runs = error, runs

    class DocChanged(Message):
        def __init__(self, text: str):
            super().__init__()
            self.text = text

    def __init__(self, data: dict | None = None, **kw):
        super().__init__(**kw)
        self._data = copy.deepcopy(data or {})
        self.error: str | None = None
        self.runs: int | None = None
        self.preset: str | None = None  # the [presets.NAME] a launch applies: validated with it
        self._ready = False
        self._pending = False
        self._rows: list[FieldRow] | None = None

    # --- building ---------------------------------------------------------------------------------
    FIRST = 1  # sections composed before the first paint; the rest are mounted right after it

    def compose(self) -> ComposeResult:
        d = self._data
        top = {f.name: f for f in dataclasses.fields(schema.Config)}
        yield Label("general", classes="section")
        for name in TOP_FIELDS:
            yield FieldRow(name, top[name], d.get(name, top[name].default))
        for sec in SECTION_ORDER[: self.FIRST]:
            yield from self._section(sec)

    def _section(self, sec: str) -> list:
        if sec == "noise":
            return [Vertical(*self._noise_widgets(), id="noise-box")]
        d = self._data
        cls = schema.SECTIONS[sec]
        sub = d.get(sec) if isinstance(d.get(sec), dict) else {}
        out = [Label(sec, classes="section")]
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            out.append(FieldRow(f"{sec}.{f.name}", f, sub.get(f.name, default)))
        return out

    async def _mount_rest(self) -> None:
        widgets = [w for sec in SECTION_ORDER[self.FIRST:] for w in self._section(sec)]
        await self.mount_all(widgets)
        self._rows = None
        self._ready = True
        self.validate()

    def _noise_widgets(self) -> list:
        noise = normalize_noise(self._data.get("noise", {}))
        self._data["noise"] = noise
        out = [Label("noise  (one [noise.<mechanism>] table each)", classes="section")]
        if not noise:
            out.append(Static("no noise mechanism: a clean run", classes="hint"))
        for mech, sub in noise.items():
            out.append(Horizontal(Label(f"noise.{mech}", classes="mech"),
                                  Button("remove", id=f"rm-{mech}", compact=True, classes="rm"), classes="mechhead"))
            if not isinstance(sub, dict):
                sub = {}
            for f in dataclasses.fields(schema.NoiseSpec):
                out.append(FieldRow(f"noise.{mech}.{f.name}", f, sub.get(f.name, f.default)))
        free = [m for m in registry.names() if m not in noise]
        if free:
            out.append(Horizontal(Label("add mechanism", classes="fname"),
                                  Select([(m, m) for m in free], value=free[0], allow_blank=False, compact=True,
                                         id="add-mech"),
                                  Button("add", id="add-btn", compact=True), classes="frow"))
        return out

    def on_mount(self) -> None:
        self.call_after_refresh(self._mount_rest)

    @property
    def ready(self) -> bool:
        """Every section is mounted (data() and validate() see the whole config)."""
        return self._ready

    def schedule_validate(self) -> None:
        """Coalesce a burst of change events (mounting fires one per field) into one validation."""
        if not self._pending:
            self._pending = True
            self.call_later(self._run_pending)

    def _run_pending(self) -> None:
        if self._pending:
            self._pending = False
            self.validate()

    # --- reading ----------------------------------------------------------------------------------
    def rows(self) -> list[FieldRow]:
        if self._rows is None:
            self._rows = list(self.query(FieldRow))
        return self._rows

    def data(self) -> dict:
        """The edited config as a plain dict (file extras such as [presets] kept)."""
        out = {k: copy.deepcopy(v) for k, v in self._data.items() if k not in TOP_FIELDS and k not in SECTION_ORDER}
        noise: dict = {}
        for row in self.rows():
            parts = row.path.split(".")
            value = row.read()
            if parts[0] == "noise":
                noise.setdefault(parts[1], {})[parts[2]] = value
            elif len(parts) == 1:
                out[parts[0]] = value
            else:
                out.setdefault(parts[0], {})[parts[1]] = value
        ordered = {k: out[k] for k in TOP_FIELDS if k in out}
        for sec in SECTION_ORDER:
            if sec == "noise":
                ordered["noise"] = noise
            elif sec in out:
                ordered[sec] = out[sec]
        ordered.update({k: v for k, v in out.items() if k not in ordered})
        return ordered

    def validate(self) -> str | None:
        """Validate exactly as the CLI does (the chosen preset applied, config_from_dict, every setting)."""
        data = self.data()
        syntax = next(((r.path, e) for r in self.rows() if (e := r.syntax_error())), None)
        if syntax is not None:
            self.runs = None
            bad, self.error = syntax
        else:
            self.error, self.runs = check(data, self.preset)
            bad = error_field(self.error, [r.path for r in self.rows()]) if self.error else None
        for row in self.rows():
            row.set_error(self.error if row.path == bad else None)
        self.post_message(self.Validated(self.error, self.runs))
        return self.error

    # --- events -----------------------------------------------------------------------------------
    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self, event) -> None:
        if self._ready and getattr(event.control, "id", None) != "add-mech":
            self.schedule_validate()

    @on(Button.Pressed)
    async def _button(self, event: Button.Pressed) -> None:
        bid = event.button.id or ""
        if bid == "add-btn":
            await self.add_mechanism(self.query_one("#add-mech", Select).value)
        elif bid.startswith("rm-"):
            await self.remove_mechanism(bid[3:])
        event.stop()

    async def add_mechanism(self, mech: str) -> None:
        self._data = self.data()
        self._data.setdefault("noise", {})[mech] = mechanism_defaults(mech)
        await self._rebuild_noise()

    async def remove_mechanism(self, mech: str) -> None:
        self._data = self.data()
        self._data.get("noise", {}).pop(mech, None)
        await self._rebuild_noise()

    async def _rebuild_noise(self) -> None:
        box = self.query_one("#noise-box", Vertical)
        await box.remove_children()
        self._rows = None
        await box.mount_all(self._noise_widgets())
        self._rows = None
        self.validate()

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        path = path_of(event.widget.id)
        if path is None:
            return
        row = next((r for r in self.rows() if r.path == path), None)
        if row is not None:
            meta = row.f.metadata
            allowed = ""
            if meta.get("choices"):
                allowed = " [" + ", ".join(meta["choices"]) + "]"
            self.post_message(self.DocChanged(f"{path}: {meta.get('doc', '')}{allowed}"))


def check(data: dict, preset: str | None = None) -> tuple[str | None, int | None]:
    """(error message or None, number of runs the sweep expands to), with `[presets.<preset>]` applied as
    `--preset` does."""
    from tffnoise.config.load import apply_preset
    from tffnoise.config.sweep import expand
    from tffnoise.config.validate import config_from_dict

    try:
        base = apply_preset(data, preset)
        cfg = config_from_dict(base)
        n = 1
        for v in cfg.sweep.grid.values():
            n *= len(v)
        n *= max(1, len(cfg.sweep.cases))
        if n <= 512:
            return None, len(expand(base))
        return None, n * cfg.experiment.repeats
    except UserError as exc:
        return str(exc), None
    except Exception as exc:  # a bug in a validator must not crash the form
        return f"{type(exc).__name__}: {exc}", None


def error_field(message: str | None, paths: list[str]) -> str | None:
    """The form row a ConfigError message points at (`sweep.grid.x` -> the sweep.grid row)."""
    if not message:
        return None
    field = message.split(":", 1)[0].strip()
    best = None
    for p in paths:
        if field == p or field.startswith(p + ".") or field.startswith(p + "["):
            if best is None or len(p) > len(best):
                best = p
    if best is None and field.startswith("noise."):
        # e.g. noise.weights with a bad table: the mechanism's first row
        best = next((p for p in paths if p.startswith(field + ".")), None)
    return best

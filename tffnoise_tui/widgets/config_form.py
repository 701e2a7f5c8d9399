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

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.events import DescendantFocus
from textual.message import Message
from textual.widgets import Button, Input, Label, Select, Static

from tffnoise.config import schema
from tffnoise.noise import registry
from tffnoise_tui.widgets.field_row import FieldRow
from tffnoise_tui.widgets.form_section import FormSection
from tffnoise_tui.widgets.form_values import (PLUGIN, check, error_field, mechanism_defaults, normalize_noise, path_of,
                                              toml_value)

__all__ = ["PLUGIN", "ConfigForm", "FieldRow", "FormSection", "check", "error_field", "toml_value"]

TOP_FIELDS = ("engine", "out")
SECTION_ORDER = ("experiment", "data", "model", "training", "noise", "privacy", "execution", "sweep")


class ConfigForm(VerticalScroll):
    """Edit a config dict. `data()` returns the edited dict; `Validated` is posted after every check.

    Each section is a `FormSection` whose rows mount when it is first opened (`OPEN` are open at start);
    every row exists from the start, so `data()` and `validate()` always see the whole config."""

    OPEN = ("experiment",)

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
        top = {f.name: f for f in dataclasses.fields(schema.Config)}
        self._general = [FieldRow(n, top[n], self._data.get(n, top[n].default)) for n in TOP_FIELDS]
        self._bodies = {sec: self._section(sec) for sec in SECTION_ORDER}  # section -> (widgets, its rows)

    # --- building ---------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Label("general", classes="section")
        yield from self._general
        for sec in SECTION_ORDER:
            yield FormSection(sec, self._title(sec), self._bodies[sec][0], open_=sec in self.OPEN)

    def _section(self, sec: str) -> tuple[list, list[FieldRow]]:
        if sec == "noise":
            flat = self._noise_widgets()
            return [Vertical(*flat, id="noise-box")], [w for w in flat if isinstance(w, FieldRow)]
        cls = schema.SECTIONS[sec]
        sub = self._data.get(sec) if isinstance(self._data.get(sec), dict) else {}
        rows = []
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            rows.append(FieldRow(f"{sec}.{f.name}", f, sub.get(f.name, default)))
        return list(rows), rows

    def _title(self, sec: str) -> Content:
        if sec == "noise":
            tables = ", ".join(f"[noise.{m}]" for m in self._data.get("noise", {})) or "none: a clean run"
            return Content.assemble(("noise", "bold"), ("  " + tables, "dim"))
        return Content.assemble((sec, "bold"), (f"  {len(self._bodies[sec][1])} fields", "dim"))

    def _noise_widgets(self) -> list:
        noise = normalize_noise(self._data.get("noise", {}))
        self._data["noise"] = noise
        out = [Static("one [noise.<mechanism>] table each", classes="hint", markup=False)]
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
        self._ready = True
        self.validate()

    @property
    def ready(self) -> bool:
        """Mounted and validated once (the rows of closed sections are read from what they start with)."""
        return self._ready

    def section(self, sec: str) -> FormSection:
        return self.query_one(f"#sec-{sec}", FormSection)

    async def open_all(self) -> None:
        """Open every section, mounting their rows together (one layout, not one a section)."""
        mounting = []
        for sec in SECTION_ORDER:
            section = self.section(sec)
            section.collapsed = False
            mounting.append(section.fill())
        for m in mounting:
            if m is not None:
                await m

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
        """Every field's row in form order, mounted or not."""
        return self._general + [r for sec in SECTION_ORDER for r in self._bodies[sec][1]]

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
        sec = bad.split(".", 1)[0] if bad else None
        if sec in SECTION_ORDER and self.is_mounted and self.section(sec).collapsed:
            self.section(sec).collapsed = False  # an error in a closed section opens it: its row shows the message
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
        section = self.section("noise")
        await section.open()
        box = self.query_one("#noise-box", Vertical)
        await box.remove_children()
        flat = self._noise_widgets()
        self._bodies["noise"] = ([box], [w for w in flat if isinstance(w, FieldRow)])
        await box.mount_all(flat)
        section.title = self._title("noise")
        self.validate()

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        if isinstance(event.widget.parent, FormSection):  # a section's title line
            sec = event.widget.parent
            self.post_message(self.DocChanged(f"[{sec.section}]: enter (or a click) opens and closes it"))
            return
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

"""The form's values as text and back, and its checks: TOML inline text for the one-line editors, the
noise tables with their mechanism's registry defaults, validation exactly as the CLI does it. No widgets
here (and no TensorFlow: the TUI process never imports it)."""
from __future__ import annotations

import copy
import dataclasses
import json
import re

from tffnoise.config import schema
from tffnoise.config.noise import spec_defaults
from tffnoise.errors import UserError
from tffnoise.noise import registry

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


def editor_start(meta: dict, tp, value) -> tuple[list | None, object, str | None]:
    """What a field's editor starts with: (the select's options, or None for a text box; the select's value
    or the box's text; the plug-in box's text, or None without one). A row reads this until it is mounted,
    so a section that was never opened reads exactly as it would once opened."""
    choices = list(meta.get("choices") or ())
    if choices and meta.get("plugin"):  # the known values, and a text box for a plug-in 'package.module:function'
        custom = isinstance(value, str) and value not in choices
        return [(c, c) for c in choices] + [(PLUGIN_LABEL, PLUGIN)], PLUGIN if custom else value, \
            value if custom else ""
    if choices or tp is bool:
        options = [(c, c) for c in choices] if choices else [("true", True), ("false", False)]
        known = [v for _, v in options]
        if value not in known or (tp is bool and not isinstance(value, bool)):
            if isinstance(value, (str, int, float)):  # a bad value from the file stays visible; its error names it
                options.append((toml_value(value) if tp is bool else str(value), value))
                return options, value, None
            return options, known[0], None
        return options, value, None
    return None, value if (tp is str and isinstance(value, str)) else toml_value(value), None


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

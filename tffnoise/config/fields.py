"""One field against the schema's `meta`: its type, its choices, its bounds, in one message format
(field, value, what is allowed) that the CLI and the TUI both print."""
from __future__ import annotations

import dataclasses
import math
from typing import Any

from tffnoise.errors import ConfigError

_PLUGIN_HINT = "or a plug-in 'package.module:function'"


def _type_name(tp) -> str:
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string",
            list: "a list", dict: "a table"}.get(tp, str(tp))


def resolve_type(f: dataclasses.Field):
    """The field's Python type (annotations are strings under `from __future__ import annotations`)."""
    tp = f.type
    if isinstance(tp, str):
        tp = {"int": int, "float": float, "bool": bool, "str": str, "list": list, "dict": dict}.get(tp, tp)
    return tp


def _allowed(meta: dict, tp) -> str:
    if meta.get("choices"):
        return "one of " + ", ".join(meta["choices"])
    parts = [_type_name(tp)]
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None:
        parts.append(("> " if meta.get("min_exclusive") else "≥ ") + f"{lo:g}")
    if hi is not None:
        parts.append(f"≤ {hi:g}")
    return " ".join(parts)


def check_value(path: str, value: Any, f: dataclasses.Field) -> Any:
    """Validate one field; returns the value coerced to the field's type (int → float where allowed)."""
    tp, meta = resolve_type(f), f.metadata
    allowed = _allowed(meta, tp)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(path, value, allowed)
        value = float(value)
        if math.isnan(value) or math.isinf(value):
            raise ConfigError(path, value, "a finite " + allowed.removeprefix("a "))
    elif tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise ConfigError(path, value, allowed)
    elif tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(path, value, allowed)
    elif tp is str:
        if not isinstance(value, str):
            raise ConfigError(path, value, allowed)
    elif tp is list:
        if not isinstance(value, list):
            raise ConfigError(path, value, "a list")
    elif tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(path, value, "a table")
    choices = meta.get("choices")
    if choices and value not in choices:
        plugin = path in ("data.source",) and isinstance(value, str) and ":" in value
        if not plugin:
            extra = f", {_PLUGIN_HINT}" if path == "data.source" else ""
            raise ConfigError(path, value, "one of " + ", ".join(choices) + extra)
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and (value < lo or (meta.get("min_exclusive") and value == lo)):
        raise ConfigError(path, value, allowed)
    if hi is not None and value > hi:
        raise ConfigError(path, value, allowed)
    return value


def build_section(cls, data: Any, prefix: str):
    if not isinstance(data, dict):
        raise ConfigError(prefix, data, "a table")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else key
        if key not in fields:
            raise ConfigError(path, value, "a known key; this table allows " + ", ".join(fields))
        kwargs[key] = check_value(path, value, fields[key])
    return cls(**kwargs)

"""Read TOML, apply `--set` overrides and presets, write TOML back."""
from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any, Iterable

from tffnoise.config.schema import Config
from tffnoise.config.validate import config_from_dict
from tffnoise.errors import ConfigError, UserError


def parse_value(text: str) -> Any:
    """`--set` values are TOML values (numbers, booleans, lists, quoted strings); a bare word is a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def set_dotted(data: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    if not all(parts):
        raise ConfigError(key, value, "a dotted key such as noise.weights.level")
    node = data
    for i, part in enumerate(parts[:-1]):
        nxt = node.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise ConfigError(".".join(parts[: i + 1]), nxt, "a table (cannot set a key inside a value)")
        node = nxt
    node[parts[-1]] = value


def parse_override(item: str) -> tuple[str, Any]:
    if "=" not in item:
        raise ConfigError("--set", item, "key=value, e.g. noise.weights.level=0.5")
    key, text = item.split("=", 1)
    return key.strip(), parse_value(text.strip())


def apply_overrides(data: dict, overrides: Iterable[str | tuple[str, Any]]) -> dict:
    out = copy.deepcopy(data)
    for item in overrides:
        key, value = parse_override(item) if isinstance(item, str) else item
        set_dotted(out, key, value)
    return out


def read_toml(path: str | Path) -> dict:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{path}: no such config file")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read it ({exc.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not a UTF-8 text file (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                        "an experiment file is TOML text") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML ({exc})") from None


def apply_preset(data: dict, preset: str | None) -> dict:
    """A file may carry `[presets.NAME]` override tables (dotted keys or nested tables)."""
    data = copy.deepcopy(data)
    presets = data.pop("presets", {})
    if preset is None:
        return data
    if preset not in presets:
        raise ConfigError("--preset", preset, "one of " + (", ".join(presets) or "(this file defines no presets)"))
    return merge(data, _undot(presets[preset]))


def _undot(table: dict) -> dict:
    out: dict = {}
    for key, value in table.items():
        # a sweep grid's keys are dotted config paths, not nested tables
        nested = isinstance(value, dict) and key.rsplit(".", 1)[-1] != "grid"
        set_dotted(out, key, _undot(value) if nested else value)
    return out


def merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "grid":
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_dict(path: str | Path | None, overrides=(), preset: str | None = None) -> dict:
    data = read_toml(path) if path else {}
    data = apply_preset(data, preset)
    return apply_overrides(data, overrides)


def load_config(path: str | Path | None, overrides=(), preset: str | None = None) -> Config:
    return config_from_dict(load_dict(path, overrides, preset))


def to_toml(cfg: Config | dict) -> str:
    import tomli_w

    data = cfg.to_dict() if isinstance(cfg, Config) else cfg
    return tomli_w.dumps(_drop_empty(data))


def _drop_empty(data: dict) -> dict:
    return {k: (_drop_empty(v) if isinstance(v, dict) else v) for k, v in data.items() if v is not None}

"""Turn a plain dict (from TOML, overrides or the TUI form) into a validated Config.

One function checks every field against the schema's `meta`, so the CLI and the TUI print the same
messages: field, value, what is allowed.
"""
from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

from tffnoise.config import schema
from tffnoise.errors import ConfigError

_PLUGIN_HINT = "or a plug-in 'package.module:function'"


def _type_name(tp) -> str:
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string",
            list: "a list", dict: "a table"}.get(tp, str(tp))


def _resolve_type(f: dataclasses.Field):
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
    tp, meta = _resolve_type(f), f.metadata
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


# When and how each mechanism acts unless the config says otherwise (paper 1: weight noise at every
# sync decayed as ε/t; gradient noise annealed as in Neelakantan et al.; the rest on every batch).
MECHANISM_DEFAULTS = {
    "weights": {"schedule": "sync", "decay": "inverse"},
    "gradient": {"distribution": "gaussian", "schedule": "step", "decay": "anneal"},
    "input": {"distribution": "gaussian", "schedule": "step", "decay": "none"},
    "hidden": {"distribution": "gaussian", "schedule": "step", "decay": "none"},
    "label": {"schedule": "step", "decay": "none"},
}


def build_noise(data: Any) -> dict:
    """`[noise.<mechanism>]` subtables; a flat `[noise]` with `mechanism = ...` is shorthand for one of them."""
    if not isinstance(data, dict):
        raise ConfigError("noise", data, "a table of mechanisms: " + ", ".join(schema.MECHANISMS))
    data = dict(data)
    spec_keys = {f.name for f in dataclasses.fields(schema.NoiseSpec)}
    flat = {k: data.pop(k) for k in list(data) if k in spec_keys}
    mechanism = data.pop("mechanism", None)
    out: dict[str, schema.NoiseSpec] = {}
    for name, sub in data.items():
        if name not in schema.MECHANISMS:
            raise ConfigError(f"noise.{name}", sub, "a mechanism table: " + ", ".join(schema.MECHANISMS)
                              + " (or the keys mechanism, " + ", ".join(sorted(spec_keys)) + ")")
        if not isinstance(sub, dict):
            raise ConfigError(f"noise.{name}", sub, "a table")
        out[name] = build_section(schema.NoiseSpec, {**MECHANISM_DEFAULTS[name], **sub}, f"noise.{name}")
    if mechanism is not None:
        if mechanism != "none" and mechanism not in schema.MECHANISMS:
            raise ConfigError("noise.mechanism", mechanism, "one of none, " + ", ".join(schema.MECHANISMS))
        if mechanism != "none":
            base = dataclasses.asdict(out[mechanism]) if mechanism in out else dict(MECHANISM_DEFAULTS[mechanism])
            base.update(flat)
            out[mechanism] = build_section(schema.NoiseSpec, base, "noise")
    elif flat:
        key = next(iter(flat))
        raise ConfigError(f"noise.{key}", flat[key], "inside a mechanism table such as [noise.weights], or with noise.mechanism set")
    for name, ns in out.items():
        _check_noise_semantics(name, ns)
    return out


def _check_noise_semantics(name: str, ns: schema.NoiseSpec) -> None:
    if name == "label" and ns.level > 1.0:
        raise ConfigError("noise.label.level", ns.level, "a flip probability between 0 and 1")
    if name == "gradient" and ns.schedule != "step":
        raise ConfigError("noise.gradient.schedule", ns.schedule, "'step' (gradient noise acts at every update)")
    if name in ("input", "hidden", "label") and ns.schedule != "step":
        # These act on every batch by construction; a different schedule would silently mean nothing.
        raise ConfigError(f"noise.{name}.schedule", ns.schedule, "'step' (this mechanism acts on every batch)")
    if name in ("input", "hidden", "label") and ns.decay != "none":
        raise ConfigError(f"noise.{name}.decay", ns.decay, "'none' (this mechanism has a constant level)")


def _check_sweep(sweep: schema.Sweep) -> None:
    for key, values in sweep.grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"sweep.grid.{key}", values, "a non-empty list of values")
    for i, case in enumerate(sweep.cases):
        if not isinstance(case, dict) or not case:
            raise ConfigError(f"sweep.cases[{i}]", case, "a non-empty table of dotted key = value overrides")


def _check_cross_fields(cfg: schema.Config) -> None:
    hidden = cfg.model.hidden
    if not all(isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in hidden):
        raise ConfigError("model.hidden", hidden, "a list of positive integers")
    if not all(isinstance(w, str) and w.rsplit(":", 1)[-1].isdigit() and ":" in w for w in cfg.execution.workers):
        raise ConfigError("execution.workers", cfg.execution.workers, "a list of 'host:port' strings")
    if cfg.model.mixed_precision and cfg.engine != "tff":
        raise ConfigError("model.mixed_precision", True, "false on engine 'stacked' (set engine = \"tff\")")
    if cfg.model.builder and ":" not in cfg.model.builder:
        raise ConfigError("model.builder", cfg.model.builder, "'package.module:function'")
    if cfg.model.builder and ({"input", "hidden"} & set(cfg.noise)):
        name = sorted({"input", "hidden"} & set(cfg.noise))[0]
        raise ConfigError(f"noise.{name}", name, "weights, gradient or label with a plug-in model (add tffnoise.noise.layers.AdditiveNoise layers in your builder instead)")
    if cfg.data.targets == "pm1" and cfg.model.output != "linear":
        raise ConfigError("data.targets", "pm1", "'labels' unless model.output = 'linear'")
    if cfg.model.output == "linear" and cfg.data.targets != "pm1":
        raise ConfigError("model.output", "linear", "'softmax' unless data.targets = 'pm1' (±1 regression targets)")
    if cfg.training.loss == "crossentropy" and cfg.model.output == "linear":
        raise ConfigError("training.loss", "crossentropy", "squared, mse or auto for a linear output")
    if cfg.training.loss in ("squared", "mse") and cfg.model.output == "softmax":
        raise ConfigError("training.loss", cfg.training.loss, "crossentropy or auto for a softmax output")
    t = cfg.training
    if t.clients_per_round > cfg.data.clients:
        raise ConfigError("training.clients_per_round", t.clients_per_round, f"0 (all) up to data.clients = {cfg.data.clients}")
    if t.clients_per_round and t.protocol != "fedavg":
        raise ConfigError("training.clients_per_round", t.clients_per_round, "0 unless training.protocol is fedavg")
    if cfg.privacy.mode == "dp-fedavg" and t.protocol not in ("fedavg", "periodic-averaging"):
        raise ConfigError("privacy.mode", "dp-fedavg", "none or dp-sgd unless training.protocol is fedavg or periodic-averaging")
    if cfg.privacy.mode == "dp-sgd" and cfg.model.architecture not in ("mlp", "linear") and not cfg.model.builder:
        # The CNNs have batch norm: its statistics come from the unclipped, un-noised batch (dp.refuse_batch_norm).
        raise ConfigError("privacy.mode", "dp-sgd", f"none or dp-fedavg with model.architecture = "
                          f"{cfg.model.architecture!r} (its batch norm is not privatized by DP-SGD; use mlp or linear)")
    if cfg.data.path and not cfg.data.synthetic and not os.path.exists(os.path.expanduser(cfg.data.path)):
        raise ConfigError("data.path", cfg.data.path, "an existing file or folder (or data.synthetic = true)")
    if cfg.data.synthetic and cfg.data.source == "digits":
        raise ConfigError("data.synthetic", True, "false for source 'digits' (it is real embedded data)")


def config_from_dict(data: dict) -> schema.Config:
    """The single entry point: every front end builds its Config here."""
    if not isinstance(data, dict):
        raise ConfigError("config", data, "a table")
    top = {f.name: f for f in dataclasses.fields(schema.Config)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in top:
            raise ConfigError(key, value, "a known key; the config allows " + ", ".join(top))
        if key in schema.SECTIONS:
            kwargs[key] = build_section(schema.SECTIONS[key], value, key)
        elif key == "noise":
            kwargs[key] = build_noise(value)
        else:
            kwargs[key] = check_value(key, value, top[key])
    cfg = schema.Config(**kwargs)
    _check_cross_fields(cfg)
    _check_sweep(cfg.sweep)
    return cfg

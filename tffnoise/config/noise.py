"""The `[noise.<mechanism>]` tables: which mechanisms exist, their defaults and their checks all come
from the mechanism registry (tffnoise/noise/registry.py); what holds for every mechanism is here."""
from __future__ import annotations

import dataclasses
from typing import Any

from tffnoise.config import schema
from tffnoise.config.fields import build_section
from tffnoise.config.unused import default_of, unused
from tffnoise.errors import ConfigError
from tffnoise.noise import registry


def spec_defaults(name: str) -> dict:
    """Every NoiseSpec field's value for mechanism `name` when its table leaves it out."""
    base = {f.name: default_of(schema.NoiseSpec, f.name) for f in dataclasses.fields(schema.NoiseSpec)}
    return {**base, **registry.get(name).defaults}


def require_default(name: str, spec: schema.NoiseSpec, fields, why: str) -> None:
    """For a mechanism's check: refuse each of `fields` that is not at the mechanism's default."""
    unused(f"noise.{name}", spec, fields, why, spec_defaults(name))


def _known() -> str:
    return ", ".join(registry.names())


def build_noise(data: Any) -> dict:
    """`[noise.<mechanism>]` subtables; a flat `[noise]` with `mechanism = ...` is shorthand for one of them."""
    if not isinstance(data, dict):
        raise ConfigError("noise", data, "a table of mechanisms: " + _known())
    data = dict(data)
    spec_keys = {f.name for f in dataclasses.fields(schema.NoiseSpec)}
    flat = {k: data.pop(k) for k in list(data) if k in spec_keys}
    mechanism = data.pop("mechanism", None)
    out: dict[str, schema.NoiseSpec] = {}
    for name, sub in data.items():
        if name not in registry.names():
            raise ConfigError(f"noise.{name}", sub, "a mechanism table: " + _known()
                              + " (or the keys mechanism, " + ", ".join(sorted(spec_keys)) + ")")
        if not isinstance(sub, dict):
            raise ConfigError(f"noise.{name}", sub, "a table")
        out[name] = build_section(schema.NoiseSpec, {**registry.get(name).defaults, **sub}, f"noise.{name}")
    if mechanism is not None:
        if mechanism != "none" and mechanism not in registry.names():
            raise ConfigError("noise.mechanism", mechanism, "one of none, " + _known())
        if mechanism != "none":
            base = dataclasses.asdict(out[mechanism]) if mechanism in out else dict(registry.get(mechanism).defaults)
            base.update(flat)
            out[mechanism] = build_section(schema.NoiseSpec, base, "noise")
    elif flat:
        key = next(iter(flat))
        raise ConfigError(f"noise.{key}", flat[key], "inside a mechanism table such as [noise.weights], or with noise.mechanism set")
    for name, ns in out.items():  # what the table alone decides; the checks that read the config: check_noise
        registry.get(name).run_check(ns)
    return out


def check_noise(cfg: schema.Config) -> None:
    """What holds for every mechanism, then each mechanism's own check (its registry entry) with the config."""
    for name, ns in cfg.noise.items():
        if ns.schedule == "init" and ns.decay == "anneal":
            raise ConfigError(f"noise.{name}.decay", ns.decay, "'none' or 'inverse' with schedule = 'init' "
                              "(initialization noise is drawn once, at level ε; there is nothing to anneal)")
        if ns.decay != "anneal":
            require_default(name, ns, ("gamma",), f"only decay = 'anneal' uses γ (this one: {ns.decay!r})")
        registry.get(name).run_check(ns, cfg)


def check_layer_noise(cfg: schema.Config) -> None:
    """A plug-in model has no place the builder would put a mechanism's noise layers."""
    layered = [n for n in cfg.noise if "layer" in registry.get(n).hooks]
    if cfg.model.builder and layered:
        others = [n for n in registry.names() if "layer" not in registry.get(n).hooks]
        others = ", ".join(others[:-1]) + " or " + others[-1] if len(others) > 1 else "".join(others) or "no noise"
        raise ConfigError(f"noise.{sorted(layered)[0]}", sorted(layered)[0], f"{others} with a plug-in model "
                          "(add tffnoise.noise.layers.AdditiveNoise layers in your builder instead)")

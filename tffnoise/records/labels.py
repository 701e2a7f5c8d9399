"""How a run is named in the store index (`tffnoise runs`, the TUI's run table): setup, mechanism,
distribution, level.

These columns are for reading only. Reports group by `setting_id` and find the clean reference from each
run's config (tffnoise/records/groups.py); the labels here say the same things where one run is known:
the level is the *swept* mechanism's (the one whose level a sweep override sets, else the first one on),
and the setup label carries every other noise setting the overrides changed, so different settings do not
share a label.
"""
from __future__ import annotations

from tffnoise.config.schema import Config
from tffnoise.noise.registry import ordered

BOOKKEEPING = ("experiment.repeats", "experiment.name")
#: Config keys the base setup label (`base_label`) already shows.
BASE_KEYS = ("training.protocol", "data.clients", "privacy.mode", "privacy.noise_multiplier")


def _active(cfg: Config) -> list[str]:
    return ordered(n for n, s in cfg.noise.items() if s.level != 0)


def swept_mechanism(cfg: Config, overrides=()) -> str | None:
    """The mechanism on the x-axis: the active one whose level an override sets, else the first active one."""
    active = _active(cfg)
    if not active:
        return None
    swept = [n for n in active if any(k == f"noise.{n}.level" for k, _ in overrides)]
    return (swept or active)[0]


def noise_label(cfg: Config, overrides=()) -> tuple[str, str, float]:
    x = swept_mechanism(cfg, overrides)
    if x is None:
        return "none", "", 0.0
    s = cfg.noise[x]
    return x, s.distribution, s.level


def base_label(protocol: str, clients, privacy_mode: str, noise_multiplier) -> str:
    """The start of every setup label (index and reports): protocol, learners, DP mode and multiplier."""
    parts = [str(protocol)]
    if protocol != "serial":
        parts.append(f"m={clients}")
    if privacy_mode != "none":
        parts.append(f"{privacy_mode} z={float(noise_multiplier):g}")
    return " ".join(parts)


def setup_label(cfg: Config, overrides=()) -> str:
    parts = [base_label(cfg.training.protocol, cfg.data.clients, cfg.privacy.mode, cfg.privacy.noise_multiplier)]
    x = swept_mechanism(cfg, overrides)
    for key, value in overrides:
        if key in BOOKKEEPING or key in BASE_KEYS or key == f"noise.{x}.level":
            continue
        if key.startswith("noise.") and (key.endswith(".level") or key.split(".")[1] not in _active(cfg)):
            continue  # another mechanism's level is shown with it below; a mechanism that is off has no settings
        parts.append(f"{key.rsplit('.', 1)[-1] if not key.startswith('noise.') else key[6:]}={value}")
    for name in _active(cfg):
        s = cfg.noise[name]
        if name != x:
            parts.append(f"+ {name}/{s.distribution} σ={s.level:g}")
        elif name == "weights" and s.schedule != "sync" and not any(k == "noise.weights.schedule" for k, _ in overrides):
            parts.append(f"{s.schedule} noise")
    return " ".join(parts)


def index_row(cfg: Config, overrides, engine: str) -> dict:
    mech, dist, level = noise_label(cfg, overrides)
    return {"experiment": cfg.experiment.name, "engine": engine, "protocol": cfg.training.protocol,
            "mechanism": mech, "distribution": dist, "level": level, "setup": setup_label(cfg, overrides),
            "dataset": cfg.data.source + ("-synthetic" if cfg.data.synthetic else ""),
            "synthetic": int(cfg.data.synthetic), "labels": "; ".join(f"{k}={v}" for k, v in overrides)}

"""How a run is named in reports: its setup (everything but the noise), mechanism, distribution, level."""
from __future__ import annotations

from tffnoise.config.schema import Config

NOISE_KEYS = ("noise.", "experiment.repeats", "experiment.name")


def noise_label(cfg: Config) -> tuple[str, str, float]:
    active = list(cfg.noise.items())
    if not active:
        return "none", "", 0.0
    if len(active) == 1:
        name, s = active[0]
        return name, s.distribution, s.level
    return "+".join(n for n, _ in active), "+".join(s.distribution for _, s in active), max(s.level for _, s in active)


def setup_label(cfg: Config, overrides=()) -> str:
    t = cfg.training
    parts = [t.protocol]
    if t.protocol != "serial":
        parts.append(f"m={cfg.data.clients}")
    if cfg.privacy.mode != "none":
        parts.append(f"{cfg.privacy.mode} z={cfg.privacy.noise_multiplier:g}")
    for key, value in overrides:
        if key.startswith(NOISE_KEYS) or key in ("training.protocol", "data.clients", "privacy.mode", "privacy.noise_multiplier"):
            continue
        parts.append(f"{key.rsplit('.', 1)[-1]}={value}")
    noise = cfg.noise
    for name, s in noise.items():
        if name == "weights" and s.schedule != "sync":
            parts.append(f"{s.schedule} noise")
    return " ".join(parts)


def index_row(cfg: Config, overrides, engine: str) -> dict:
    mech, dist, level = noise_label(cfg)
    return {"experiment": cfg.experiment.name, "engine": engine, "protocol": cfg.training.protocol,
            "mechanism": mech, "distribution": dist, "level": level, "setup": setup_label(cfg, overrides),
            "dataset": cfg.data.source + ("-synthetic" if cfg.data.synthetic else ""),
            "synthetic": int(cfg.data.synthetic), "labels": "; ".join(f"{k}={v}" for k, v in overrides)}

"""Values the rest of the config makes meaningless, refused by name (the noise tables: config/noise.py).

A value is refused only where it differs from its default: a config written back in full (to_toml,
the run store's config.toml, the TUI's form) carries every default and must stay valid, so "the user
wrote it" cannot be told from "it is the default", and a default that does not apply changes nothing.
"""
from __future__ import annotations

import dataclasses

from tffnoise.config import schema
from tffnoise.errors import ConfigError


def default_of(obj, name: str, defaults: dict | None = None):
    if defaults and name in defaults:
        return defaults[name]
    f = {f.name: f for f in dataclasses.fields(obj)}[name]
    return f.default_factory() if f.default is dataclasses.MISSING else f.default


def unused(prefix: str, obj, names, why: str, defaults: dict | None = None) -> None:
    """Refuse each of `names` that is not at its default, with why it does not apply here."""
    for name in names:
        default = default_of(obj, name, defaults)
        if getattr(obj, name) != default:
            raise ConfigError(f"{prefix}.{name}", getattr(obj, name), f"{default!r} (the default): {why}")


def check_unused(cfg: schema.Config) -> None:
    _unused_training(cfg)
    _unused_data(cfg)
    _unused_model(cfg)
    _unused_privacy(cfg)
    _unused_execution(cfg)


def _unused_training(cfg: schema.Config) -> None:
    t = cfg.training
    if t.protocol != "fedavg":
        unused("training", t, ("server_learning_rate", "server_momentum"),
                f"only training.protocol = 'fedavg' has a server optimizer; {t.protocol!r} takes the average as it is")
    if t.protocol != "no-sync":
        unused("training", t, ("nosync_eval",),
                f"only training.protocol = 'no-sync' has learners that are never averaged; {t.protocol!r} evaluates one model per repeat")
    if t.rounds:
        unused("training", t, ("epochs",), f"training.rounds = {t.rounds} sets the length (epochs count only with rounds = 0)")


def _unused_data(cfg: schema.Config) -> None:
    d = cfg.data
    if d.partition != "dirichlet":
        unused("data", d, ("alpha",), f"only data.partition = 'dirichlet' uses it (this config: {d.partition!r})")
    if d.partition != "shards":
        unused("data", d, ("shards_per_client",), f"only data.partition = 'shards' uses it (this config: {d.partition!r})")
    if ":" in d.source:
        unused("data", d, ("path", "synthetic"),
                "a plug-in data.source loads its own data (it returns 'synthetic' in its dict)")
    # a path for digits or synthetic data: _check_data_path


def _unused_model(cfg: schema.Config) -> None:
    m = cfg.model
    if m.builder:
        unused("model", m, ("architecture", "hidden", "activation", "dropout", "width", "mixed_precision"),
                "model.builder builds the whole model; set this in the builder (dropout: tffnoise.noise.layers.SeededDropout)")
        return
    if m.architecture == "linear" and m.hidden:  # [] says what 'linear' is
        unused("model", m, ("hidden",), "model.architecture = 'linear' has no hidden layer (or [])")
    if m.architecture == "linear" or (m.architecture == "mlp" and not m.hidden):
        why = ("model.architecture = 'linear'" if m.architecture == "linear" else "model.hidden = []") + " has no hidden layer"
        unused("model", m, ("activation", "dropout"), why)  # hidden noise there: the mechanism's own check
    elif m.architecture != "mlp":
        unused("model", m, ("hidden", "activation"),
                f"model.architecture = {m.architecture!r} has fixed layers (ReLU; set its size with model.width)")
    if m.architecture in ("mlp", "linear"):
        unused("model", m, ("width",), "only the CNN architectures have a width multiplier (set model.hidden)")


def _unused_privacy(cfg: schema.Config) -> None:
    p = cfg.privacy
    if p.mode == "none":
        unused("privacy", p, ("noise_multiplier", "l2_norm_clip", "microbatches", "delta", "target_epsilon", "accountant"),
                "privacy.mode = 'none' trains without DP (set 'dp-sgd' or 'dp-fedavg' to use it)")
        return
    if p.mode == "dp-fedavg":
        unused("privacy", p, ("microbatches",), "only privacy.mode = 'dp-sgd' cuts batches into microbatches")
    if p.target_epsilon > 0:
        unused("privacy", p, ("noise_multiplier",),
                f"privacy.target_epsilon = {p.target_epsilon:g} chooses the noise multiplier")


def _unused_execution(cfg: schema.Config) -> None:
    e = cfg.execution
    if cfg.engine != "tff":
        unused("execution", e, ("workers",), "workers serve engine = 'tff'; engine 'stacked' trains in this process")
    if not e.workers:
        unused("execution", e, ("connect_timeout_s", "call_timeout_s"), "only remote execution.workers have timeouts")
    if cfg.engine != "stacked":
        unused("execution", e, ("threads",), "only engine = 'stacked' runs repeats in threads")

"""Turn a plain dict (from TOML, overrides or the TUI form) into a validated Config.

`config_from_dict` is the one entry point, so the CLI and the TUI print the same messages: field, value,
what is allowed. Its parts: one field (fields.py), the noise tables (noise.py, from the mechanism
registry), sizes (sizes.py), values that do not apply (unused.py); the rules that join sections are here.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any

from tffnoise.config import schema
from tffnoise.config.fields import build_section, check_value
from tffnoise.config.noise import build_noise, check_layer_noise, check_noise
from tffnoise.config.sizes import MAX_RUNS, check_data_fit, check_sizes, rounds_from_epochs
from tffnoise.config.unused import check_unused
from tffnoise.distributed.config import check_execution
from tffnoise.errors import ConfigError
from tffnoise.privacy.attack_config import check_attacks

__all__ = ["MAX_RUNS", "build_section", "check_data_fit", "check_value", "config_from_dict", "rounds_from_epochs"]


def _check_sweep(sweep: schema.Sweep) -> None:
    for key, values in sweep.grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"sweep.grid.{key}", values, "a non-empty list of values")
    for i, case in enumerate(sweep.cases):
        if not isinstance(case, dict) or not case:
            raise ConfigError(f"sweep.cases[{i}]", case, "a non-empty table of dotted key = value overrides")


def _check_batch_norm(cfg: schema.Config) -> None:
    """FedBN (model.batch_norm = 'local') applies where learners average a model with batch norm."""
    if cfg.model.batch_norm != "local":
        return
    if not cfg.model.architecture.startswith("cnn-") or cfg.model.builder:
        raise ConfigError("model.batch_norm", "local", "'shared' unless model.architecture is a CNN (cnn-small, cnn-medium, cnn-large)")
    if cfg.training.protocol not in ("periodic-averaging", "fedavg"):
        raise ConfigError("model.batch_norm", "local", f"'shared' with training.protocol = {cfg.training.protocol!r} (nothing is averaged)")
    if cfg.engine != "stacked":
        raise ConfigError("model.batch_norm", "local", "'shared' on engine 'tff' (FedBN runs on engine 'stacked')")
    if cfg.privacy.mode == "dp-fedavg":
        raise ConfigError("model.batch_norm", "local", "'shared' with privacy.mode = 'dp-fedavg' (its clipped update covers every weight)")


def _check_cross_fields(cfg: schema.Config) -> None:
    hidden = cfg.model.hidden
    if not all(isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in hidden):
        raise ConfigError("model.hidden", hidden, "a list of positive integers")
    if not all(isinstance(w, str) and w.rsplit(":", 1)[-1].isdigit() and ":" in w for w in cfg.execution.workers):
        raise ConfigError("execution.workers", cfg.execution.workers, "a list of 'host:port' strings")
    _check_batch_norm(cfg)
    if cfg.model.builder and ":" not in cfg.model.builder:
        raise ConfigError("model.builder", cfg.model.builder, "'package.module:function'")
    check_layer_noise(cfg)
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
    if cfg.data.path and not cfg.data.synthetic and not os.path.exists(os.path.expanduser(cfg.data.path)):
        raise ConfigError("data.path", cfg.data.path, "an existing file or folder (or data.synthetic = true)")
    if cfg.data.synthetic and cfg.data.source == "digits":
        raise ConfigError("data.synthetic", True, "false for source 'digits' (it is real embedded data)")


def _check_privacy(cfg: schema.Config) -> None:
    """How [privacy] combines with the protocol and the model (its unused fields: unused.py)."""
    if cfg.privacy.mode == "dp-fedavg" and cfg.training.protocol not in ("fedavg", "periodic-averaging"):
        raise ConfigError("privacy.mode", "dp-fedavg", "none or dp-sgd unless training.protocol is fedavg or periodic-averaging")
    if cfg.privacy.mode == "dp-sgd" and cfg.model.architecture not in ("mlp", "linear") and not cfg.model.builder:
        # The CNNs have batch norm: its statistics come from the unclipped, un-noised batch (dp.refuse_batch_norm).
        raise ConfigError("privacy.mode", "dp-sgd", f"none or dp-fedavg with model.architecture = "
                          f"{cfg.model.architecture!r} (its batch norm is not privatized by DP-SGD; use mlp or linear)")


def _check_data_path(d: schema.Data) -> None:
    """A path for a source that reads none would be silently ignored."""
    if d.path and d.source == "digits":
        raise ConfigError("data.path", d.path, "'' for source 'digits' (it is bundled with scikit-learn and reads no file)")
    if d.path and d.synthetic:
        raise ConfigError("data.path", d.path, "'' when data.synthetic is true (synthetic data reads no file)")


def _check_divergence(t: schema.Training) -> None:
    if 0 < t.divergence_factor <= 1:
        # a loss at or below its start would count as run away: every run would end diverged
        raise ConfigError("training.divergence_factor", t.divergence_factor, "0 (off) or a number > 1")


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
    _check_data_path(cfg.data)
    _check_cross_fields(cfg)
    _check_privacy(cfg)
    _check_divergence(cfg.training)
    check_sizes(cfg)
    check_unused(cfg)
    check_execution(cfg)
    check_noise(cfg)
    check_attacks(cfg)
    _check_sweep(cfg.sweep)
    return cfg

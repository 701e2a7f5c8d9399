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
from tffnoise.privacy.attack_config import check_attacks

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
# sync decayed as ε/k after the k-th sync; gradient noise annealed as in Neelakantan et al.; the rest on every batch).
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


# Sizes that no machine runs are refused here, with the bound, before anything is built: a sweep's run
# specs are built up front, and every cell builds its batch order, [repeats, learners, rounds × sync_period,
# batch_size] int64 example indices, on either engine (tffnoise.algorithms.problem.prepare).
MAX_RUNS = 100_000
ORDER_ITEM_BYTES = 8


def memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 1 << 40


def _gib(n: float) -> str:
    return f"{n / 2**30:.3g} GiB"


def check_order_fits(cfg: schema.Config, rounds: int, field: str, value) -> None:
    """The cell's batch order must fit in half the machine's memory; `field` is what the user can change."""
    t = cfg.training
    learners = 1 if t.protocol == "serial" else cfg.data.clients
    need = cfg.experiment.repeats * learners * rounds * t.sync_period * t.batch_size * ORDER_ITEM_BYTES
    have = memory_bytes()
    if need > have // 2:
        raise ConfigError(field, value, f"a size whose batch order fits in memory: {cfg.experiment.repeats} repeats × "
                          f"{learners} learners × {rounds} rounds × {t.sync_period} steps × {t.batch_size} examples × "
                          f"{ORDER_ITEM_BYTES} bytes = {_gib(need)}, more than half of this machine's {_gib(have)}")


def rounds_from_epochs(t: schema.Training, n_local: int) -> int:
    """Rounds when `training.rounds` is 0: `epochs` passes over a learner's `n_local` examples."""
    return max(1, math.ceil(t.epochs * (n_local // t.batch_size) / t.sync_period))


def check_data_fit(cfg: schema.Config, ds) -> None:
    """The size checks that need the data: the same partition call a cell makes, the batch size against
    the examples per learner, the test-set size, the batch order of rounds derived from epochs. The
    runner's preflight (and so `validate --data`) calls it for every setting, before anything is written."""
    from tffnoise.data.partition import partition

    d, t = cfg.data, cfg.training
    n_test = len(ds.y_test)
    if n_test == 0:
        raise ConfigError("data.source", d.source, "a dataset with a non-empty test set (this one has no test examples)")
    if d.test_examples > n_test:
        raise ConfigError("data.test_examples", d.test_examples, f"at most {n_test}, the size of the test set (0 = all of it)")
    parts = partition(ds.y_train, d.clients, d.examples_per_client or None, d.partition, alpha=d.alpha,
                      shards_per_client=d.shards_per_client, seed=0)
    n = min(len(p) for p in parts)
    n_local = (n - int(round(n * d.validation_fraction))) * (d.clients if t.protocol == "serial" else 1)
    if t.batch_size > n_local:
        raise ConfigError("training.batch_size", t.batch_size, f"at most the examples per learner ({n_local})")
    if not t.rounds:
        check_order_fits(cfg, rounds_from_epochs(t, n_local), "training.epochs", t.epochs)


def _check_data_path(d: schema.Data) -> None:
    """A path for a source that reads none would be silently ignored."""
    if d.path and d.source == "digits":
        raise ConfigError("data.path", d.path, "'' for source 'digits' (it is bundled with scikit-learn and reads no file)")
    if d.path and d.synthetic:
        raise ConfigError("data.path", d.path, "'' when data.synthetic is true (synthetic data reads no file)")


def _check_sizes(cfg: schema.Config) -> None:
    if cfg.experiment.repeats > MAX_RUNS:
        raise ConfigError("experiment.repeats", cfg.experiment.repeats, f"at most {MAX_RUNS} (runs in one sweep)")
    if cfg.training.rounds:  # rounds from epochs depend on the data: checked with it (check_data_fit)
        check_order_fits(cfg, cfg.training.rounds, "training.rounds", cfg.training.rounds)


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
    _check_divergence(cfg.training)
    _check_sizes(cfg)
    _check_unused(cfg)
    check_attacks(cfg)
    _check_sweep(cfg.sweep)
    return cfg


# --- values the rest of the config makes meaningless ----------------------------------------------
# A value is refused only where it differs from its default: a config written back in full (to_toml,
# the run store's config.toml, the TUI's form) carries every default and must stay valid, so "the user
# wrote it" cannot be told from "it is the default", and a default that does not apply changes nothing.

def _default(obj, name: str, defaults: dict | None = None):
    if defaults and name in defaults:
        return defaults[name]
    f = {f.name: f for f in dataclasses.fields(obj)}[name]
    return f.default_factory() if f.default is dataclasses.MISSING else f.default


def _unused(prefix: str, obj, names, why: str, defaults: dict | None = None) -> None:
    """Refuse each of `names` that is not at its default, with why it does not apply here."""
    for name in names:
        default = _default(obj, name, defaults)
        if getattr(obj, name) != default:
            raise ConfigError(f"{prefix}.{name}", getattr(obj, name), f"{default!r} (the default): {why}")


def _check_unused(cfg: schema.Config) -> None:
    _unused_training(cfg)
    _unused_data(cfg)
    _unused_model(cfg)
    _unused_privacy(cfg)
    _unused_execution(cfg)
    _unused_noise(cfg)


def _unused_training(cfg: schema.Config) -> None:
    t = cfg.training
    if t.protocol != "fedavg":
        _unused("training", t, ("server_learning_rate", "server_momentum"),
                f"only training.protocol = 'fedavg' has a server optimizer; {t.protocol!r} takes the average as it is")
    if t.rounds:
        _unused("training", t, ("epochs",), f"training.rounds = {t.rounds} sets the length (epochs count only with rounds = 0)")


def _unused_data(cfg: schema.Config) -> None:
    d = cfg.data
    if d.partition != "dirichlet":
        _unused("data", d, ("alpha",), f"only data.partition = 'dirichlet' uses it (this config: {d.partition!r})")
    if d.partition != "shards":
        _unused("data", d, ("shards_per_client",), f"only data.partition = 'shards' uses it (this config: {d.partition!r})")
    if ":" in d.source:
        _unused("data", d, ("path", "synthetic"),
                "a plug-in data.source loads its own data (it returns 'synthetic' in its dict)")
    # a path for digits or synthetic data: _check_data_path


def _unused_model(cfg: schema.Config) -> None:
    m = cfg.model
    if m.builder:
        _unused("model", m, ("architecture", "hidden", "activation", "dropout", "width", "mixed_precision"),
                "model.builder builds the whole model; set this in the builder (dropout: tffnoise.noise.layers.SeededDropout)")
        return
    if m.architecture == "linear" and m.hidden:  # [] says what 'linear' is
        _unused("model", m, ("hidden",), "model.architecture = 'linear' has no hidden layer (or [])")
    if m.architecture == "linear" or (m.architecture == "mlp" and not m.hidden):
        why = ("model.architecture = 'linear'" if m.architecture == "linear" else "model.hidden = []") + " has no hidden layer"
        _unused("model", m, ("activation", "dropout"), why)
        if "hidden" in cfg.noise:
            _unused("noise.hidden", cfg.noise["hidden"], ("level",), why + " to put hidden noise after")
    elif m.architecture != "mlp":
        _unused("model", m, ("hidden", "activation"),
                f"model.architecture = {m.architecture!r} has fixed layers (ReLU; set its size with model.width)")
    if m.architecture in ("mlp", "linear"):
        _unused("model", m, ("width",), "only the CNN architectures have a width multiplier (set model.hidden)")


def _unused_privacy(cfg: schema.Config) -> None:
    p = cfg.privacy
    if p.mode == "none":
        _unused("privacy", p, ("noise_multiplier", "l2_norm_clip", "microbatches", "delta", "target_epsilon", "accountant"),
                "privacy.mode = 'none' trains without DP (set 'dp-sgd' or 'dp-fedavg' to use it)")
        return
    if p.mode == "dp-fedavg":
        _unused("privacy", p, ("microbatches",), "only privacy.mode = 'dp-sgd' cuts batches into microbatches")
    if p.target_epsilon > 0:
        _unused("privacy", p, ("noise_multiplier",),
                f"privacy.target_epsilon = {p.target_epsilon:g} chooses the noise multiplier")


def _unused_execution(cfg: schema.Config) -> None:
    e = cfg.execution
    if cfg.engine != "tff":
        _unused("execution", e, ("workers",), "workers serve engine = 'tff'; engine 'stacked' trains in this process")
    if not e.workers:
        _unused("execution", e, ("connect_timeout_s", "call_timeout_s"), "only remote execution.workers have timeouts")
    if cfg.engine != "stacked":
        _unused("execution", e, ("threads",), "only engine = 'stacked' runs repeats in threads")


def _unused_noise(cfg: schema.Config) -> None:
    for name, ns in cfg.noise.items():
        defaults = {**{f.name: _default(ns, f.name) for f in dataclasses.fields(ns)}, **MECHANISM_DEFAULTS[name]}
        if ns.schedule == "init" and ns.decay == "anneal":
            raise ConfigError(f"noise.{name}.decay", ns.decay, "'none' or 'inverse' with schedule = 'init' "
                              "(initialization noise is drawn once, at level ε; there is nothing to anneal)")
        if ns.decay != "anneal":
            _unused(f"noise.{name}", ns, ("gamma",), f"only decay = 'anneal' uses γ (this one: {ns.decay!r})", defaults)
        if name == "label" and cfg.data.targets != "pm1":
            _unused("noise.label", ns, ("distribution",),
                    "label noise flips class labels with probability level; a distribution is drawn only for data.targets = 'pm1'",
                    defaults)

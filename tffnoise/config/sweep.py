"""A sweep is cases × grid × repeats; each (setting, repeat) is one run with a stable id."""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
from dataclasses import dataclass

from tffnoise.config.load import apply_overrides
from tffnoise.config.schema import Config, Training
from tffnoise.config.validate import MAX_RUNS, config_from_dict
from tffnoise.privacy.attack_config import ATTACK_DEFAULTS
from tffnoise.errors import ConfigError


@dataclass(frozen=True)
class RunSpec:
    run_id: str
    setting_id: str
    repeat: int
    config: Config          # the resolved setting (sweep removed)
    overrides: tuple        # the (key, value) pairs that made this setting, for labels


DIVERGENCE_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Training) if f.name.startswith("divergence_")}
# Fields added after stores existed: at these values a setting hashes as it did before the field.
ADDED_LATER = {
    **{("training", k): v for k, v in DIVERGENCE_DEFAULTS.items()},
    **{("privacy", k): v for k, v in ATTACK_DEFAULTS.items()},   # issue 22
    ("model", "batch_norm"): "shared",                            # issue 20
    ("training", "nosync_eval"): "picked",                        # which no-sync learners are evaluated
}


def canonical(data) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def setting_id(cfg: Config) -> str:
    """Hash of everything that changes results; output location and repeat count do not."""
    return setting_key(cfg.to_dict())


def setting_key(config: dict) -> str:
    """`setting_id` of a resolved config as a plain dict (`Config.to_dict()`, or a run's config.toml read back).

    Reports hash the stored config.toml through this without validating it again, so a store still
    reports when its configs would no longer validate (a data.path that exists only where it ran)."""
    d = json.loads(canonical(config))
    d.pop("out", None)
    d.pop("sweep", None)
    d.get("experiment", {}).pop("repeats", None)
    d.get("experiment", {}).pop("name", None)
    d.pop("execution", None)  # where TFF runs does not change the numbers
    for (section, key), default in ADDED_LATER.items():  # at their defaults, older stores keep their ids
        if d.get(section, {}).get(key) == default:
            d[section].pop(key)
    # a mechanism at level 0 is the clean run (tested bit-identical), so sweeps run it once
    d["noise"] = {k: v for k, v in (d.get("noise") or {}).items() if v.get("level", 0) != 0}
    return hashlib.sha256(canonical(d).encode()).hexdigest()[:12]


def clean_setting_key(config: dict) -> str:
    """`setting_key` of the setting's clean reference: the same config, learning rate and protocol included,
    with every noise mechanism off (all levels 0, which `setting_key` treats as no noise at all). DP noise
    (`privacy.*`) is not a noise mechanism and stays."""
    return setting_key({**config, "noise": {}})


def run_id(sid: str, repeat: int) -> str:
    return hashlib.sha256(f"{sid}/{repeat}".encode()).hexdigest()[:12]


def expand(base: dict) -> list[RunSpec]:
    """Validate the base, then every setting; the error of the first bad one names its field."""
    cfg = config_from_dict(base)
    body = {k: v for k, v in base.items() if k != "sweep"}
    cases = cfg.sweep.cases or [{}]
    keys = list(cfg.sweep.grid)
    settings = len(cases) * math.prod(len(cfg.sweep.grid[k]) for k in keys)
    if settings > MAX_RUNS:  # counted before any is built
        raise ConfigError("sweep", f"{settings} settings", f"at most {MAX_RUNS} runs in one sweep (cases × grid × repeats)")
    runs: list[RunSpec] = []
    seen: dict[str, tuple] = {}
    for case in cases:
        for combo in itertools.product(*(cfg.sweep.grid[k] for k in keys)):
            pairs = tuple(case.items()) + tuple(zip(keys, combo))
            setting = config_from_dict(apply_overrides(body, pairs))
            sid = setting_id(setting)
            if sid in seen:
                _same_execution(seen[sid], pairs)
                continue
            seen[sid] = pairs
            if len(runs) + setting.experiment.repeats > MAX_RUNS:
                raise ConfigError("experiment.repeats", setting.experiment.repeats,
                                  f"at most {MAX_RUNS} runs in one sweep (cases × grid × repeats; this one has at least "
                                  f"{len(runs) + setting.experiment.repeats})")
            for rep in range(setting.experiment.repeats):
                runs.append(RunSpec(run_id(sid, rep), sid, rep, setting, pairs))
    return runs


def _same_execution(first: tuple, pairs: tuple) -> None:
    """Two settings with one setting id differ at most in [execution], which does not enter the id (it
    says where a run trains, not what): one of them would run and the other be dropped unseen."""
    a, b = dict(first), dict(pairs)
    for key in sorted(set(a) | set(b)):
        if key.startswith("execution.") and a.get(key) != b.get(key):
            raise ConfigError(f"sweep.{key}", b.get(key, a.get(key)),
                              "one value for the whole sweep, set outside sweep.grid / sweep.cases ([execution] says "
                              "where runs train, not what they compute, so settings differing only there are one setting)")

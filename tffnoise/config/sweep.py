"""A sweep is cases × grid × repeats; each (setting, repeat) is one run with a stable id."""
from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass

from tffnoise.config.load import apply_overrides
from tffnoise.config.schema import Config
from tffnoise.config.validate import config_from_dict


@dataclass(frozen=True)
class RunSpec:
    run_id: str
    setting_id: str
    repeat: int
    config: Config          # the resolved setting (sweep removed)
    overrides: tuple        # the (key, value) pairs that made this setting, for labels


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
    combos = list(itertools.product(*(cfg.sweep.grid[k] for k in keys))) or [()]
    runs: list[RunSpec] = []
    seen = set()
    for case in cases:
        for combo in combos:
            pairs = tuple(case.items()) + tuple(zip(keys, combo))
            setting = config_from_dict(apply_overrides(body, pairs))
            sid = setting_id(setting)
            if sid in seen:
                continue
            seen.add(sid)
            for rep in range(setting.experiment.repeats):
                runs.append(RunSpec(run_id(sid, rep), sid, rep, setting, pairs))
    return runs

"""What a compiled stacked program is keyed by: one frozen dataclass naming every structural field,
so a value reaches a compiled program only by being named here. Everything else the round reads
(levels, learning rates, data, state) is a runtime input (`RUNTIME`), so the cells of a sweep that
differ only in those share one compilation.

The program is built from the key alone (`structural_mechanisms`, `dp_objects`): a field left out of
the key cannot leak in from the first cell that traced it.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from tffnoise.algorithms.plan import batch_norm_weights, noise_streams

# Inputs of every compiled round, never part of its structure (the noise levels are keyed by
# mechanism name and noise-layer stream).
RUNTIME = ("lr", "server_lr", "server_momentum", "levels")
RUNTIME_SPEC_FIELDS = ("level",)  # NoiseSpec fields that are runtime inputs


@dataclass(frozen=True)
class MechanismKey:
    name: str
    impl: str                      # the mechanism's class, "module:Class"
    fields: tuple                  # (field, value) for every NoiseSpec field but the runtime ones
    active: bool                   # level != 0 (a level of 0 skips the mechanism's draws)


@dataclass(frozen=True)
class DpKey:
    mode: str                      # dp-sgd or dp-fedavg
    clip: float
    noise_multiplier: float
    microbatches: int              # dp-sgd; 0 for dp-fedavg
    denominator: float             # dp-fedavg's expected clients per round; 0 for dp-sgd


@dataclass(frozen=True)
class RoundKey:
    plan: tuple                    # the stacked forward plan (plan.py ops)
    protocol: str
    steps: int                     # b
    num_classes: int
    regression: bool
    loss_kind: str
    repeats: int                   # R stacked in one program
    learners: int                  # M
    mechanisms: tuple              # MechanismKey per mechanism, in hook order
    runtime: tuple                 # the names of the runtime inputs, RUNTIME plus the level streams
    dp: DpKey | None
    local: tuple = ()              # weight indices each learner keeps at averaging (FedBN: its batch norm)


@dataclass(frozen=True)
class EvalKey:
    plan: tuple
    loss_kind: str
    regression: bool


def mechanism_key(mech) -> MechanismKey:
    spec = mech.spec
    fields = tuple((f.name, getattr(spec, f.name)) for f in dataclasses.fields(spec) if f.name not in RUNTIME_SPEC_FIELDS)
    impl = f"{type(mech).__module__}:{type(mech).__qualname__}"
    return MechanismKey(mech.name, impl, fields, spec.level != 0)


def dp_key(dp_sgd=None, dp_fedavg=None) -> DpKey | None:
    if dp_sgd is not None:
        return DpKey("dp-sgd", float(dp_sgd.clip), float(dp_sgd.z), int(dp_sgd.mb), 0.0)
    if dp_fedavg is not None:
        return DpKey("dp-fedavg", float(dp_fedavg.clip), float(dp_fedavg.z), 0, float(dp_fedavg.denominator))
    return None


def round_key(p, plan, R: int, dp_sgd=None, dp_fedavg=None) -> RoundKey:
    names = tuple(m.name for m in p.mechanisms)
    streams = tuple(sorted(set(names) | noise_streams(plan)))
    return RoundKey(plan=tuple(plan), protocol=p.cfg.training.protocol, steps=p.steps_per_round,
                    num_classes=p.num_classes, regression=p.regression, loss_kind=p.loss_kind, repeats=R,
                    learners=p.learners, mechanisms=tuple(mechanism_key(m) for m in p.mechanisms),
                    runtime=RUNTIME + tuple(f"levels.{s}" for s in streams), dp=dp_key(dp_sgd, dp_fedavg),
                    local=tuple(sorted(batch_norm_weights(plan))) if p.cfg.model.batch_norm == "local" else ())


def structural_mechanisms(key: RoundKey, mechanisms) -> list:
    """Copies of `mechanisms` holding only what the key names: their spec's runtime fields are NaN (a
    hook that read the spec's level instead of its `level` argument would turn the run into NaN)."""
    out = []
    for mk, mech in zip(key.mechanisms, mechanisms):
        spec = dataclasses.replace(mech.spec, **dict(mk.fields), level=math.nan if mk.active else 0.0)
        out.append(type(mech)(mk.name, spec))
    return out


def dp_objects(key: RoundKey):
    """(DpSgd or None, DpFedAvg or None) built from the key's DP constants."""
    if key.dp is None:
        return None, None
    from tffnoise.algorithms.dp import DpFedAvg, DpSgd

    d = key.dp
    if d.mode == "dp-sgd":
        return DpSgd(d.clip, d.noise_multiplier, d.microbatches, key.loss_kind), None
    return None, DpFedAvg(d.clip, d.noise_multiplier, d.denominator)

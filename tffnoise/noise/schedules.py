"""When noise acts and how strong it is: pure functions of the round / step counter.

The counters live in the training state (the TFF server state or the stacked engine's loop), never in a
Python variable, because TFF traces a computation once. `t` is 1-based.
- init: ε at round 1 only (paper 1's initialization noise: ε₁ > 0, εₜ = 0 after).
- sync: at every synchronization (the start of each round, on the broadcast model), counter = round.
- step: before every local update (Algorithm 1's general form), counter = global step.
Decay: none (ε), inverse (ε/t, paper 1), anneal (ε/(1+t)^(γ/2): variance ε²/(1+t)^γ, Neelakantan et al.).
"""
from __future__ import annotations

import tensorflow as tf

SCHEDULES = ("init", "sync", "step")
DECAYS = ("none", "inverse", "anneal")


def decayed(level, decay: str, t, gamma: float = 0.55):
    t = tf.cast(t, tf.float32)
    if decay == "none":
        return tf.fill(tf.shape(t), tf.cast(level, tf.float32))
    if decay == "inverse":
        return level / t
    if decay == "anneal":
        return level * tf.pow(1.0 + t, -gamma / 2.0)
    raise ValueError(f"unknown decay {decay!r}; expected one of {', '.join(DECAYS)}")


def sync_scale(spec, round_t, level=None):
    """Scale of weight noise added at the start of round `round_t` (0 where the schedule is silent)."""
    t = tf.cast(round_t, tf.float32)
    level = spec.level if level is None else level
    if spec.schedule == "init":
        return tf.where(t <= 1.0, decayed(level, spec.decay, t, spec.gamma), 0.0)
    if spec.schedule == "sync":
        return decayed(level, spec.decay, t, spec.gamma)
    return tf.zeros_like(t)


def step_scale(spec, step_t, level=None):
    """Scale of noise added before local step `step_t` (global, 1-based)."""
    t = tf.cast(step_t, tf.float32)
    if spec.schedule == "step":
        return decayed(spec.level if level is None else level, spec.decay, t, spec.gamma)
    return tf.zeros_like(t)


def applied(mechanisms, round_t: int, steps_per_round: int) -> dict:
    """What each mechanism adds in round `round_t`, for the per-round record (reports, TUI): the
    distribution and the scale at the round's sync and at its first and last local step."""
    out = {}
    first, last = (round_t - 1) * steps_per_round + 1, round_t * steps_per_round
    for m in mechanisms:
        s = m.spec
        rec = {"distribution": s.distribution}
        if m.name == "weights" and s.schedule != "step":
            rec["scale"] = float(sync_scale(s, round_t))
        else:
            rec["scale_first_step"] = float(step_scale(s, first))
            rec["scale_last_step"] = float(step_scale(s, last))
        out[m.name] = rec
    return out

"""When noise acts and how strong it is: pure functions of the round / step counter.

The counters live in the training state (the TFF server state or the stacked engine's loop), never in a
Python variable, because TFF traces a computation once. Rounds `t` and global steps `g` are 1-based.

Paper 1 decays the noise "by a factor equal to the index number of the synchronization step": weight
noise added right after the k-th averaging has level ε/k, after ε at initialization. Round t starts
right after the (t−1)-th averaging (round 1 starts at initialization), so the counter of the noise drawn
at the start of round t is k = t − 1 (`sync_index`). For protocols that never average (serial, no-sync)
k counts the round boundaries passed, the same number.

- init: ε at the start of round 1 only (paper 1's initialization noise: ε₁ > 0, εₜ = 0 after); no decay
  applies (k = 0).
- sync: at the start of every round, on the broadcast (averaged) model: ε at k = 0, then decayed by k.
- step: before every local update (Algorithm 1's general form, f ← φ(f + εₜψ)), counter = the global
  step g, the index number of the update the noise precedes.
Decay of counter k: none (ε), inverse (ε/k, and ε at k = 0), anneal (ε/(1+k)^(γ/2): variance
ε²/(1+k)^γ, Neelakantan et al.; ε at k = 0).
"""
from __future__ import annotations

import tensorflow as tf

SCHEDULES = ("init", "sync", "step")
DECAYS = ("none", "inverse", "anneal")


def sync_index(round_t):
    """k for the noise drawn at the start of round `round_t`: the averagings (round boundaries) before it."""
    return tf.cast(round_t, tf.float32) - 1.0


def decayed(level, decay: str, k, gamma: float = 0.55):
    """The level after decay at counter k ≥ 0 (k = 0: the undecayed level ε)."""
    k = tf.cast(k, tf.float32)
    if decay == "none":
        return tf.fill(tf.shape(k), tf.cast(level, tf.float32))
    if decay == "inverse":
        return level / tf.maximum(k, 1.0)
    if decay == "anneal":
        return level * tf.pow(1.0 + k, -gamma / 2.0)
    raise ValueError(f"unknown decay {decay!r}; expected one of {', '.join(DECAYS)}")


def sync_scale(spec, round_t, level=None):
    """Scale of weight noise added at the start of round `round_t` (0 where the schedule is silent)."""
    k = sync_index(round_t)
    level = spec.level if level is None else level
    if spec.schedule == "init":
        return tf.where(k <= 0.0, tf.cast(level, tf.float32) * tf.ones_like(k), 0.0)
    if spec.schedule == "sync":
        return decayed(level, spec.decay, k, spec.gamma)
    return tf.zeros_like(k)


def step_scale(spec, step_t, level=None):
    """Scale of noise added before local step `step_t` (global, 1-based)."""
    t = tf.cast(step_t, tf.float32)
    if spec.schedule == "step":
        return decayed(spec.level if level is None else level, spec.decay, t, spec.gamma)
    return tf.zeros_like(t)


def applied(mechanisms, round_t: int, steps_per_round: int) -> dict:
    """What each mechanism adds in round `round_t`, for the per-round record (reports, TUI): the
    distribution and the scale at the round's sync and at its first and last local step, computed by
    the functions the engines call, so the record is the level that was applied."""
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

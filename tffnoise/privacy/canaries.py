"""Canaries of the one-run audit (`[privacy] audit = true`): inserted into a prepared Problem before the
engine is built, scored from the final model after training (`privacy.audit` turns scores into ε).

Each of the m canaries is an input-space record: a random input (Gaussian with the per-feature mean and
spread of the repeat's training data, so it sits apart from every real example) with a uniformly random
label. Each is included by its own seeded fair coin. Inclusion is add-or-remove, the adjacency DP-SGD's
ε is accounted for: every canary has a slot appended to its learner's data, but only the included ones
are in that learner's batch order, so an excluded canary is never trained on (`trained_examples` agrees).
For no-sync all canaries go to the picked learner (the attacked model); otherwise canary j goes to
learner j mod M. Canaries carry negative member ids (−1 − j), so the membership attacks skip them.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

AUDIT_PART = 8   # keys.numpy_seed part of the canaries (1-5: problem and MIA draws, 6-7: reference models)


@dataclass
class Canaries:
    x: np.ndarray          # [R, m, ...]
    y: np.ndarray          # [R, m]
    included: np.ndarray   # [R, m] bool
    original: int          # examples per learner before the slots
    smallest: int          # the fewest examples any learner trains on (original + its included canaries)


def _draw(problem, ri: int, r: int, m: int):
    cfg = problem.cfg
    rng = np.random.default_rng([int(cfg.experiment.seed), int(r), AUDIT_PART])
    data = problem.x_clients[ri].reshape((-1,) + problem.x_clients.shape[3:])
    x = rng.normal(data.mean(axis=0), data.std(axis=0) + 1e-3, (m,) + data.shape[1:]).astype(np.float32)
    y = rng.integers(0, problem.num_classes, m).astype(problem.y_clients.dtype)
    return x, y, rng.random(m) < 0.5


def with_canaries(problem):
    """The problem itself without privacy.audit; else a copy with the canaries in (its `.canaries`)."""
    cfg = problem.cfg
    if not cfg.privacy.audit:
        return problem
    from tffnoise.algorithms import keys as keylib
    from tffnoise.algorithms.problem import batch_order
    from tffnoise.algorithms.stacked import nosync_pick

    m, (R, M, n) = cfg.privacy.audit_canaries, problem.x_clients.shape[:3]
    steps, B = problem.order.shape[2], cfg.training.batch_size
    picks = nosync_pick(problem) if cfg.training.protocol == "no-sync" else None
    owner = [np.full(m, picks[ri]) if picks is not None else np.arange(m) % M for ri in range(R)]
    S = max(int(np.bincount(o, minlength=M).max()) for o in owner)
    x = np.concatenate([problem.x_clients, np.zeros((R, M, S) + problem.x_clients.shape[3:], np.float32)], axis=2)
    y = np.concatenate([problem.y_clients, np.zeros((R, M, S), problem.y_clients.dtype)], axis=2)
    ids = np.concatenate([problem.member_ids, np.full((R, M, S), -1 - m, problem.member_ids.dtype)], axis=2)
    order = np.empty(problem.order.shape, problem.order.dtype)
    draws, smallest = [], n + S
    for ri, r in enumerate(problem.repeats):
        cx, cy, inc = _draw(problem, ri, r, m)
        draws.append((cx, cy, inc))
        for i in range(M):
            mine = np.flatnonzero(owner[ri] == i)
            slots = n + np.arange(len(mine))
            x[ri, i, slots], y[ri, i, slots], ids[ri, i, slots] = cx[mine], cy[mine], -1 - mine
            real = np.concatenate([np.arange(n), slots[inc[mine]]])
            smallest = min(smallest, len(real))
            order[ri, i] = real[batch_order(len(real), steps, B, keylib.numpy_seed(cfg.experiment.seed, r, 1, i))]
    out = dataclasses.replace(problem, x_clients=x, y_clients=y, member_ids=ids, order=order)
    out.canaries = Canaries(x=np.stack([d[0] for d in draws]), y=np.stack([d[1] for d in draws]),
                            included=np.stack([d[2] for d in draws]), original=n, smallest=smallest)
    return out


def real_examples(problem) -> np.ndarray:
    """[R, M, n] bool: the slots that hold real data, not canaries."""
    return problem.member_ids >= 0


def accounting_problem(problem):
    """The problem as the accountant must see it: with canaries, each learner's data at the fewest examples
    any learner trains on (its epochs are the shortest, so its examples join the most batches)."""
    canaries = getattr(problem, "canaries", None)
    if canaries is None:
        return problem
    return dataclasses.replace(problem, x_clients=problem.x_clients[:, :, :canaries.smallest])


def canary_scores(problem, engine) -> list[np.ndarray]:
    """Per repeat: log p(canary label) under that repeat's evaluated model, one per canary."""
    from tffnoise.privacy.signals import MIN_PROB, true_probability

    c = problem.canaries
    R, m = c.y.shape
    probs = engine.predict_proba(c.x.reshape((R * m,) + c.x.shape[2:]))
    return [np.log(np.clip(true_probability(probs[ri, ri * m:(ri + 1) * m], c.y[ri]), MIN_PROB, None))
            for ri in range(R)]

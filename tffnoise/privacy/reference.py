"""Reference models for LiRA and RMIA: the target's recipe, retrained on seeded random halves of a population.

**The population** is drawn from the training split only: every example some repeat's learners hold,
topped up with held-out training examples (no learner's; validation examples among them) to twice one
repeat's pool, as in Carlini et al., where the target trains on half the population. It is disjoint from
the test set, whose examples are therefore out of every reference model and of every target: they are
RMIA's population samples z. For one target repeat, the examples its evaluated model trained on
(`stacked.trained_examples`) are members; the rest of the population (held-out and validation examples,
other repeats' data, other learners' data for no-sync, unselected clients for fedavg, batches an epoch
dropped) are non-members.

**The reference models** are N extra "repeats" of one stacked engine (repeat ids from 1,000,000 up, so
their seeds, initial weights, data orders and noise keys are disjoint from any real repeat's), each on its
own half of the population (balanced: every example is in exactly half of them, as in Carlini et al.'s
code, and every model holds exactly half), cut into the target's number of learners, trained with the target's protocol, hyperparameters,
noise and DP noise multiplier for the target's number of epochs (each reference learner has about half the
examples, so about half the steps; the rounds are scaled to keep the epochs). Which examples each one
trained on is read back with `trained_examples`, the same definition of a member the target uses. They
are never runs: nothing here writes to the store.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from tffnoise.errors import UserError

REFERENCE_REPEAT_BASE = 1_000_000
HALVES_PART = 6   # keys.numpy_seed part of the halves (1-4: batch order, selection, no-sync pick, MIA; 5: validation)


@dataclass
class Population:
    x: np.ndarray           # [P, ...]
    y: np.ndarray           # [P]
    target_in: np.ndarray   # [R, P] bool: repeat ri's evaluated model trained on example p


@dataclass
class References:
    engine: object           # the StackedEngine of the N reference repeats
    in_mask: np.ndarray      # [models, P] bool: reference model k trained on population example p
    rounds: int
    examples_per_learner: int
    every_learner: bool = False   # no-sync: each learner of each repeat is a model (N·M of them)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """[models, len(x), classes], rows in in_mask's order (no-sync: repeat-major, then learner)."""
        out = self.engine.predict_proba(x, every_learner=self.every_learner)
        return out.reshape((-1,) + out.shape[-2:])


def training_split(problem):
    """(x, y, ids) of the run's whole training split, loaded and standardized as `problem.prepare` does
    (the Problem keeps only the examples the learners got)."""
    from tffnoise.algorithms.problem import load_data

    cfg = problem.cfg
    ds = load_data(cfg, cfg.experiment.seed)
    x = np.asarray(ds.x_train, np.float32)
    if cfg.data.standardize:
        x = (x - x.mean(axis=0, keepdims=True)) / (x.std(axis=0, keepdims=True) + 1e-8)
    return x, np.asarray(ds.y_train).astype(np.int32), np.asarray(ds.train_ids)


def population(problem, trained: np.ndarray, split=None) -> Population:
    """The population and each target repeat's members; `trained` is `trained_examples(problem, sel)`.

    Every example some repeat's learners hold, topped up with a seeded sample of the rest of the training
    split to twice one repeat's pool, so that a reference model's half is the size of the target's data.
    `split` = (x, y, ids) of the training split (default: `training_split`)."""
    x, y, ids = training_split(problem) if split is None else split
    R = problem.x_clients.shape[0]
    order = np.argsort(ids)
    where = lambda wanted: order[np.searchsorted(ids, wanted, sorter=order)]  # noqa: E731
    real = problem.member_ids >= 0   # canaries of an audit run carry negative ids (privacy.canaries)
    if not np.array_equal(x[where(problem.member_ids[0][real[0]])], problem.x_clients[0][real[0]]):
        raise UserError("privacy.attacks: the training split read again for the reference models does not "
                        "match the learners' data (ids or contents differ); the strong attacks need a "
                        "data source that loads the same examples under the same ids every time")
    held = np.unique(where(problem.member_ids[real]))
    rest = np.setdiff1d(np.arange(len(ids)), held)
    rng = np.random.default_rng([int(problem.cfg.experiment.seed), REFERENCE_REPEAT_BASE, HALVES_PART, 2])
    pool = int(real.reshape(R, -1).sum(axis=1).max())   # one repeat's real examples (canary slots aside)
    extra = rng.choice(rest, min(len(rest), max(0, 2 * pool - len(held))), replace=False)
    chosen = np.sort(np.concatenate([held, extra]))
    index = np.full(len(ids), -1)
    index[chosen] = np.arange(len(chosen))
    target_in = np.zeros((R, len(chosen)), bool)
    for ri in range(R):
        target_in[ri, index[where(problem.member_ids[ri][trained[ri] & real[ri]])]] = True
    return Population(x=x[chosen], y=y[chosen], target_in=target_in)


def halves(n_models: int, size: int, seed: int) -> np.ndarray:
    """[n_models, size] bool: models in complementary pairs, each pair splitting the population by a
    seeded permutation, so every model holds half the population and every example is in half the models
    (with an odd count, the last model's partner is not trained)."""
    rng = np.random.default_rng([int(seed), REFERENCE_REPEAT_BASE, HALVES_PART])
    out = np.zeros((2 * math.ceil(n_models / 2), size), bool)
    for j in range(0, len(out), 2):
        out[j, rng.permutation(size)[:size // 2]] = True
        out[j + 1] = ~out[j]
    return out[:n_models]


def reference_problem(problem, pop: Population, n_models: int, noise_multiplier, idx=None):
    """(problem of the N reference models, [N, M, n_ref] population indices of their learners' data).
    `idx` given: those learners' data instead of the example halves (client-level halves, client_level.py)."""
    from tffnoise.algorithms import keys as keylib
    from tffnoise.algorithms.problem import batch_order, initial_weights

    cfg, M = problem.cfg, problem.learners
    seed, B, b = cfg.experiment.seed, cfg.training.batch_size, problem.steps_per_round
    if idx is None:
        keep = halves(n_models, len(pop.x), seed)
        n_ref = int(keep.sum(axis=1).min()) // M
        if n_ref < B:
            raise UserError(f"privacy.reference_models: a reference learner gets {n_ref} examples (half of the "
                            f"{len(pop.x)}-example population over {M} learners), fewer than training.batch_size = {B}")
        rng = np.random.default_rng([int(seed), REFERENCE_REPEAT_BASE, HALVES_PART, 1])
        idx = np.stack([rng.permutation(np.flatnonzero(k))[:M * n_ref].reshape(M, n_ref) for k in keep])
    n_ref = idx.shape[2]
    n_target = float((problem.member_ids >= 0).sum(axis=2).mean())   # real examples per learner
    rounds = max(1, round(problem.rounds * n_ref / n_target))
    repeats = [REFERENCE_REPEAT_BASE + k for k in range(n_models)]
    order = np.stack([np.stack([batch_order(n_ref, rounds * b, B, keylib.numpy_seed(seed, r, 1, i))
                                for i in range(M)]) for r in repeats])
    inits = [initial_weights(cfg, problem.input_shape, problem.num_classes,
                             keylib.run_key(seed, r) & 0x7FFFFFFF, problem.model_fn) for r in repeats]
    privacy = cfg.privacy
    if noise_multiplier is not None:  # the target's σ, not one re-derived from target_epsilon for fewer steps
        privacy = dataclasses.replace(privacy, target_epsilon=0.0, noise_multiplier=float(noise_multiplier))
    ref = dataclasses.replace(
        problem, cfg=dataclasses.replace(cfg, privacy=privacy), repeats=repeats,
        x_clients=pop.x[idx], y_clients=pop.y[idx], x_val=None, y_val=None, member_ids=idx, rounds=rounds,
        order=order, learner_keys=keylib.learner_keys(seed, repeats, M),
        init_weights=[np.stack([w[j] for w in inits]) for j in range(len(inits[0]))], trimmed=[0] * n_models)
    return ref, idx


def learner_examples(problem, selection) -> np.ndarray:
    """[R, M, n] bool: what each learner trained on, as `trained_examples` counts the evaluated learner.
    Only for no-sync, where every learner is an independent model: its own batches of every round (the
    count periodic averaging gives each learner), so each learner is a model with its own membership."""
    from tffnoise.algorithms.stacked import trained_examples

    cfg = problem.cfg
    as_each = dataclasses.replace(cfg, training=dataclasses.replace(cfg.training, protocol="periodic-averaging"))
    return trained_examples(dataclasses.replace(problem, cfg=as_each), selection)


def in_mask_of(trained: np.ndarray, idx: np.ndarray, size: int, every_learner: bool) -> np.ndarray:
    """[models, size] bool from [N, M, n] trained flags and population indices: one row per repeat (its
    learners' union), or with `every_learner` one row per learner (repeat-major)."""
    N, M = idx.shape[:2]
    mask = np.zeros((N * M if every_learner else N, size), bool)
    for k in range(N):
        for i in range(M):
            mask[k * M + i if every_learner else k, idx[k, i][trained[k, i]]] = True
    return mask


def train_references(problem, pop: Population, n_models: int, noise_multiplier=None, idx=None) -> References:
    """Train the N reference repeats as one stacked cell and record what each model trained on. No-sync:
    the attacked model is one learner trained alone, and so is each reference learner: all N·M of them
    are reference models, and an example is in exactly one learner of each repeat whose half holds it
    (N/2 models), so the online attacks have in models (a repeat's picked learner alone: N/(2M))."""
    from tffnoise.algorithms.stacked import StackedEngine, trained_examples

    ref, idx = reference_problem(problem, pop, n_models, noise_multiplier, idx)
    engine = StackedEngine(ref)
    engine.run_rounds(ref.rounds)
    every = problem.cfg.training.protocol == "no-sync"
    trained = (learner_examples if every else trained_examples)(ref, engine.selection)
    return References(engine=engine, in_mask=in_mask_of(trained, idx, len(pop.x), every), rounds=ref.rounds,
                      examples_per_learner=idx.shape[2], every_learner=every)

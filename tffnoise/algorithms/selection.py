"""Which learners count, and which model is reported, for both engines: fedavg's client selection,
no-sync's picked learner, the examples a model was trained on (membership inference), per-repeat
metrics. Pure NumPy, seeded by keys.numpy_seed."""
from __future__ import annotations

import numpy as np

from tffnoise.algorithms import keys as keylib


def client_selection(problem) -> np.ndarray:
    """[rounds, R, M] 0/1: which learners count at each round's aggregation (fedavg sampling), for both
    engines. DP-FedAvg samples by Poisson: each learner joins each round independently with probability
    k/m (k = training.clients_per_round), so the count varies and may be 0; that is the sampling its ε
    is accounted for (add-or-remove-one client). Plain fedavg keeps a fixed-size set of k drawn without
    replacement (McMahan et al.'s FedAvg), which needs no accounting."""
    t, cfg = problem.cfg.training, problem.cfg
    R, M = len(problem.repeats), problem.learners
    sel = np.ones((problem.rounds, R, M), np.float32)
    if t.protocol == "fedavg" and t.clients_per_round and t.clients_per_round < M:
        sel[:] = 0
        for ri, r in enumerate(problem.repeats):
            rng = np.random.default_rng(keylib.numpy_seed(cfg.experiment.seed, r, 2))
            if cfg.privacy.mode == "dp-fedavg":
                sel[:, ri] = rng.random((problem.rounds, M)) < t.clients_per_round / M
                continue
            for k in range(problem.rounds):
                sel[k, ri, rng.choice(M, t.clients_per_round, replace=False)] = 1
    return sel


def nosync_pick(problem) -> np.ndarray:
    """The learner paper 1 reports for no-sync: one chosen at random per repeat (seeded)."""
    return np.array([np.random.default_rng(keylib.numpy_seed(problem.cfg.experiment.seed, r, 3)).integers(problem.learners)
                     for r in problem.repeats])


def trained_examples(problem, selection: np.ndarray) -> np.ndarray:
    """[R, M, n] bool: the examples of `problem.x_clients` the evaluated model was trained on, the members
    a membership-inference attack on it must use. A learner's batches of round t count when its round
    reaches that model: always for serial and periodic averaging, only in its selected rounds for fedavg
    (an unselected learner's local steps are discarded), and only the picked learner's for no-sync.
    Examples no batch drew (the partial batch an epoch drops) are not members."""
    R, M, n = problem.x_clients.shape[:3]
    b, T = problem.steps_per_round, problem.rounds
    counts = np.ones((T, R, M), bool)
    if problem.cfg.training.protocol == "fedavg":
        counts = selection[:T] > 0
    if problem.cfg.training.protocol == "no-sync":
        counts = np.zeros((T, R, M), bool)
        counts[:, np.arange(R), nosync_pick(problem)] = True
    mask = np.zeros((R, M, n), bool)
    for ri in range(R):
        for i in range(M):
            rounds = np.flatnonzero(counts[:, ri, i])
            steps = (rounds[:, None] * b + np.arange(b)).ravel()
            mask[ri, i, problem.order[ri, i, steps].ravel()] = True
    return mask


def evaluates_every_learner(cfg) -> bool:
    """Whether the engines evaluate all M learners of a repeat: no-sync with training.nosync_eval =
    'every-learner' (the *_mean_learner metrics). Otherwise they evaluate one model per repeat, for
    no-sync the picked learner: paper 1's metric at 1/M of the cost."""
    return cfg.training.protocol == "no-sync" and cfg.training.nosync_eval == "every-learner"


def per_repeat_metrics(problem, loss: np.ndarray, acc: np.ndarray, prefix: str) -> dict:
    """One value per repeat: the evaluated model's (no-sync: the picked learner's; paper 1 reports a
    random learner). With every learner evaluated (loss, acc: [R·M]) also the mean over learners."""
    if evaluates_every_learner(problem.cfg):
        R, M = len(problem.repeats), problem.learners
        loss, acc = loss.reshape(R, M), acc.reshape(R, M)
        rows, pick = np.arange(R), nosync_pick(problem)
        return {f"{prefix}_loss": loss[rows, pick], f"{prefix}_accuracy": acc[rows, pick],
                f"{prefix}_accuracy_mean_learner": acc.mean(1), f"{prefix}_loss_mean_learner": loss.mean(1)}
    return {f"{prefix}_loss": loss, f"{prefix}_accuracy": acc}

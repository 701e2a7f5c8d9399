"""Paper 1's Lemma 1, measured: average K noisy runs that share initialization, data and order and
differ only in their noise keys, and compare the average with the clean run.

For a model linear in its parameters with squared loss, E[noisy] = clean, so the gap of the K-average
shrinks like 1/√K. For a non-linear model the expectation itself moves (a bias), so the gap stops
shrinking. `gap_by_k` reports the gap for several K from one stacked computation of max(K) runs.
"""
from __future__ import annotations

import dataclasses

import numpy as np


def _final_server_weights(cfg, repeats: int, dataset) -> np.ndarray:
    from tffnoise.algorithms.problem import prepare
    from tffnoise.algorithms.stacked import StackedEngine

    problem = prepare(cfg, list(range(repeats)), dataset)
    # Same data, order and initialization for every repeat: only the noise keys differ.
    for arr in (problem.x_clients, problem.y_clients, problem.order):
        arr[:] = arr[:1]
    problem.init_weights = [np.repeat(w[:1], repeats, axis=0) for w in problem.init_weights]
    engine = StackedEngine(problem)
    for _ in range(problem.rounds):
        engine.run_round()
    params = engine.eval_params()
    per = params[0].shape[0] // repeats
    return np.concatenate([w.numpy()[::per].reshape(repeats, -1) for w in params], axis=1)


def gap_by_k(cfg, ks=(4, 16, 64, 256), dataset=None) -> dict[int, float]:
    """Mean Euclidean distance between the average of K noisy runs and the clean run, over disjoint
    groups of K among max(ks) noisy runs."""
    clean_cfg = dataclasses.replace(cfg, noise={k: dataclasses.replace(v, level=0.0) for k, v in cfg.noise.items()})
    clean = _final_server_weights(clean_cfg, 1, dataset)[0]
    noisy = _final_server_weights(cfg, max(ks), dataset)
    out = {}
    for k in ks:
        groups = noisy[: (len(noisy) // k) * k].reshape(-1, k, noisy.shape[1]).mean(1)
        out[k] = float(np.linalg.norm(groups - clean, axis=1).mean())
    return out

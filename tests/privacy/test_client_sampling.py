"""DP-FedAvg samples clients by Poisson, as its ε is accounted (issue 17 item 6).

Checked on a fixed seed: 20 clients, k = 5 (q = 0.25), 400 rounds, 2 repeats = 16000 Bernoulli draws.
Tolerances: overall frequency within 4 standard errors (sqrt(q(1−q)/16000) ≈ 0.0034); every client's
frequency within 5 of its 800-draw standard error (≈ 0.015); the variance of the per-round count within
25% of m·q(1−q) = 3.75 (its relative standard error here is ≈ 5%); lag-one correlation of a client's
draws below 5 standard errors. Three deliberately biased samplers must fail the same check.
"""
import math

import numpy as np
import pytest

from tffnoise.algorithms.problem import prepare
from tffnoise.algorithms.stacked import client_selection
from tffnoise.config import load_config

M, K, ROUNDS = 20, 5, 400
BASE = ['data.source="digits"', f"data.clients={M}", "data.examples_per_client=10", "model.hidden=[2]",
        "training.batch_size=5", "training.sync_period=1", f"training.rounds={ROUNDS}", 'training.protocol="fedavg"',
        f"training.clients_per_round={K}", "experiment.seed=11"]


def poisson_problems(sel: np.ndarray, q: float) -> list[str]:
    """What is wrong with sel [rounds, R, m] as independent Bernoulli(q) draws (empty: nothing)."""
    x = sel.astype(float)
    n = x.size
    bad = []
    if abs(x.mean() - q) > 4 * math.sqrt(q * (1 - q) / n):
        bad.append(f"frequency {x.mean():.4f}")
    per = x.reshape(-1, x.shape[-1]).mean(0)
    if np.abs(per - q).max() > 5 * math.sqrt(q * (1 - q) / (n / x.shape[-1])):
        bad.append(f"per-client frequency {per.min():.3f}..{per.max():.3f}")
    counts = x.sum(-1).ravel()
    if abs(counts.var() / (x.shape[-1] * q * (1 - q)) - 1) > 0.25:
        bad.append(f"count variance {counts.var():.3f}")
    a, b = x[:-1].ravel() - q, x[1:].ravel() - q
    if abs((a * b).mean() / (q * (1 - q))) > 5 / math.sqrt(a.size):
        bad.append("rounds correlated")
    return bad


def test_dp_fedavg_selection_is_poisson_and_biased_samplers_are_caught():
    p = prepare(load_config(None, BASE + ['privacy.mode="dp-fedavg"']), [0, 1])
    sel = client_selection(p)
    assert sel.shape == (ROUNDS, 2, M)
    q = K / M
    assert poisson_problems(sel, q) == []
    assert len(np.unique(sel.sum(-1))) > 3  # the count varies
    rng = np.random.default_rng(0)
    fixed = np.zeros_like(sel)
    for t in range(ROUNDS):
        for r in range(2):
            fixed[t, r, rng.choice(M, K, replace=False)] = 1
    biased = rng.random(sel.shape) < 1.1 * q
    skip_first = rng.random(sel.shape) < q
    skip_first[..., 0] = False
    for name, wrong in (("fixed-size", fixed), ("q × 1.1", biased), ("client 0 never", skip_first)):
        assert poisson_problems(wrong, q), name


def test_plain_fedavg_keeps_fixed_size_sampling():
    sel = client_selection(prepare(load_config(None, BASE), [0]))
    assert (sel.sum(-1) == K).all()


def test_dp_fedavg_is_accounted_as_that_poisson_event():
    import dp_accounting
    from dp_accounting.rdp import RdpAccountant

    from tffnoise.algorithms import dp

    cfg = load_config(None, BASE + ['privacy.mode="dp-fedavg"', "training.rounds=50"])
    p = prepare(cfg, [0])
    assert dp.accounting_inputs(cfg, p) == (K / M, 50, "poisson")
    acc = RdpAccountant()
    acc.compose(dp_accounting.PoissonSampledDpEvent(K / M, dp_accounting.GaussianDpEvent(1.3)), 50)
    assert dp.epsilons(cfg, p, 1.3)[-1] == pytest.approx(acc.get_epsilon(cfg.privacy.delta), rel=1e-9)

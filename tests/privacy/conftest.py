"""Synthetic reference-model scores with a known answer, shared by the LiRA and RMIA tests.

Each example i has its own difficulty mu_i; a model's logit-scaled confidence on it is
N(mu_i + shift, 1) if the model trained on it and N(mu_i, 1) if not. The best test of one example then
thresholds phi − mu_i, with TPR at FPR f equal to 1 − Phi(z_{1−f} − shift): 0.3718 at f = 1%, shift 2.
A global threshold on phi (the loss attack) sees mu_i's spread as noise: 1 − Phi(z_{1−f} − shift/√(1+s²)).
"""
import numpy as np
import pytest


def make_scores(n=10_000, models=64, shift=2.0, spread=2.0, center=0.0, seed=0):
    rng = np.random.default_rng(seed)
    mu = rng.normal(center, spread, n)
    # Balanced halves, as reference.py draws them: every example is in exactly half the models.
    in_mask = np.argsort(rng.uniform(size=(models, n)), axis=0) < models // 2
    ref_phi = mu + shift * in_mask + rng.normal(0, 1, (models, n))
    member = rng.permutation(n) < n // 2
    target_phi = mu + shift * member + rng.normal(0, 1, n)
    return target_phi, ref_phi, in_mask, member


@pytest.fixture(scope="session")
def synthetic():
    return make_scores()


@pytest.fixture(scope="session")
def scores_maker():
    return make_scores

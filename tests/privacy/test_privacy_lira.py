"""LiRA on synthetic scores whose best attack is known (conftest.make_scores: TPR@1%FPR = 0.3718).

Tolerance: 5000 members and 5000 non-members give the TPR a binomial sd of 0.007 and the 1% threshold
(50 false positives) an sd of about 0.03 in TPR; we allow 0.07.
Deliberate errors these catch (each tried): swapping in and out fits in the online ratio (TPR -> ~0),
a two-sided offline test (|phi - mu| instead of phi - mu: TPR drops below 0.3), offline reading the in
models, and the per-example variance with 2 models a side (where the global variance must win).
"""
import numpy as np
import pytest
from scipy.stats import norm

from tffnoise.errors import UserError
from tffnoise.privacy.lira import lira_offline, lira_online
from tffnoise.privacy.roc import tpr_at_fpr
from tffnoise.privacy.signals import logit_confidence

BEST = 1 - norm.cdf(norm.ppf(0.99) - 2.0)     # 0.3718
LOSS = 1 - norm.cdf(norm.ppf(0.99) - 2.0 / np.sqrt(5.0))  # 0.076


def _tpr(scores, member):
    return tpr_at_fpr(scores[member], scores[~member], 0.01)


def test_loss_threshold_is_the_weak_baseline(synthetic):
    t, _, _, member = synthetic
    assert _tpr(t, member) == pytest.approx(LOSS, abs=0.04)


@pytest.mark.parametrize("global_variance", [False, True])
def test_online_reaches_the_best_test(synthetic, global_variance):
    t, r, m, member = synthetic
    assert _tpr(lira_online(t, r, m, global_variance=global_variance), member) == pytest.approx(BEST, abs=0.07)


def test_offline_reaches_the_best_test_and_ignores_in_models(synthetic):
    t, r, m, member = synthetic
    s = lira_offline(t, r, m)
    assert _tpr(s, member) == pytest.approx(BEST, abs=0.07)
    np.testing.assert_array_equal(s, lira_offline(t, np.where(m, 1e6, r), m))


def test_global_variance_wins_with_few_models(scores_maker):
    t, r, m, member = scores_maker(n=6000, models=4, seed=1)
    per_example = _tpr(lira_online(t, r, m, global_variance=False), member)
    pooled = _tpr(lira_online(t, r, m, global_variance=True), member)
    assert pooled > per_example + 0.05
    assert _tpr(lira_online(t, r, m), member) == pooled  # the default picks it below 64 a side


def test_logit_confidence_and_errors():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [1.0, 0.0]])
    np.testing.assert_allclose(logit_confidence(probs, np.array([0, 0, 0]))[:2],
                               [np.log(9), np.log(0.25)])
    assert np.isfinite(logit_confidence(probs, np.array([0, 0, 0]))).all()
    with pytest.raises(UserError, match="'in' reference models"):
        lira_online(np.zeros(3), np.zeros((2, 3)), np.zeros((2, 3), bool), global_variance=True)
    with pytest.raises(UserError, match="shape|need"):
        lira_offline(np.zeros(3), np.zeros((2, 4)), np.zeros((2, 4), bool))

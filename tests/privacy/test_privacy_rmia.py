"""RMIA: hand-computed small cases for the score and the offline formula, and synthetic scores with a known
best attack (conftest.make_scores, on the probability scale p = sigmoid(phi)).

With small probabilities (center −5, spread 1) p ≈ e^phi, so Pr(x|θ)/Pr(x) is monotone in phi − mu_i and
online RMIA should come close to the best test's TPR@1%FPR of 0.3718 (measured 0.35; tolerance 0.07 as
for LiRA). Deliberate errors these catch (each tried): counting ties LR(x)/LR(z) = gamma as above
(side="right"), the offline formula with a minus, ((1 + a)·Pr_OUT − (1 − a))/2, which goes negative,
offline averaging the in models too, and the population ratio LR(z) left out (score = LR(x) alone still
ranks, so the hand case checks the fraction).
"""
import numpy as np
import pytest
from scipy.stats import norm

from tffnoise.errors import UserError
from tffnoise.privacy.rmia import population_probability, rmia
from tffnoise.privacy.roc import tpr_at_fpr

BEST = 1 - norm.cdf(norm.ppf(0.99) - 2.0)

PX = np.array([0.5, 0.1])
REF_PX = np.array([[0.25, 0.1], [0.25, 0.1]])
PZ = np.array([0.2, 0.3, 0.1])
REF_PZ = np.full((2, 3), 0.2)   # LR(z) = 1, 1.5, 0.5


def test_hand_computed_online_scores():
    # LR(x) = 0.5/0.25 = 2 and 0.1/0.1 = 1.
    np.testing.assert_allclose(rmia(PX, REF_PX, None, PZ, REF_PZ), [1.0, 1 / 3])
    np.testing.assert_allclose(rmia(PX, REF_PX, None, PZ, REF_PZ, gamma=2.0), [1 / 3, 0.0])


def test_hand_computed_offline_formula():
    in_x = np.array([[True, False], [False, False]])   # model 0 trained on x0: x0's Pr_OUT is model 1's
    ref = np.array([[0.9, 0.1], [0.25, 0.1]])
    np.testing.assert_allclose(population_probability(ref, in_x, offline=True, a=0.5),
                               [0.5 * (1.5 * 0.25 + 0.5), 0.5 * (1.5 * 0.1 + 0.5)])
    np.testing.assert_allclose(population_probability(ref, in_x, offline=True, a=1.0), [0.25, 0.1])
    # Online averages every model, the in ones included.
    np.testing.assert_allclose(population_probability(ref, in_x), [0.575, 0.1])
    # x0: LR = 0.5 / 0.4375 = 1.143; z: Pr(z) = 0.5 (1.5 · 0.2 + 0.5) = 0.4, LR(z) = 0.5, 0.75, 0.25.
    np.testing.assert_allclose(rmia(PX, ref, in_x, PZ, REF_PZ, offline=True, a=0.5), [1.0, 1 / 3])


def _synthetic(maker, seed=0):
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    t, r, m, member = maker(n=12_000, center=-5.0, spread=1.0, seed=seed)
    zsel = np.arange(10_000, 12_000)[~member[10_000:]]   # population samples: non-members, not attacked
    x = (sig(t[:10_000]), sig(r[:, :10_000]), m[:, :10_000])
    z = (sig(t[zsel]), sig(r[:, zsel]), m[:, zsel])
    return x, z, member[:10_000], t[:10_000]


def _tpr(scores, member):
    return tpr_at_fpr(scores[member], scores[~member], 0.01)


def test_online_and_offline_near_the_best_test(scores_maker):
    x, z, member, phi = _synthetic(scores_maker)
    online = _tpr(rmia(*x, *z), member)
    assert online == pytest.approx(BEST, abs=0.07)
    assert _tpr(rmia(*x, *z, offline=True, a=1.0), member) == pytest.approx(BEST, abs=0.07)
    assert online > 1.5 * _tpr(phi, member)   # the loss attack's 0.19


def test_tiebreak_orders_ties_only():
    lr_order = np.argsort(PX / REF_PX.mean(0))
    plain = rmia(PX, REF_PX, None, PZ, REF_PZ)
    broken = rmia(PX, REF_PX, None, PZ, REF_PZ, tiebreak=True)
    assert np.all(np.abs(broken - plain) < 1 / (2 * len(PZ)))
    # Two examples above every z tie at 1.0 without it, and are ordered by LR(x) with it.
    px = np.array([0.9, 0.6])
    tied = rmia(px, np.full((2, 2), 0.2), None, PZ, REF_PZ)
    assert tied[0] == tied[1] == 1.0
    ordered = rmia(px, np.full((2, 2), 0.2), None, PZ, REF_PZ, tiebreak=True)
    assert ordered[0] > ordered[1] and lr_order.size == 2


def test_gamma_is_monotone_and_errors(scores_maker):
    x, z, _, _ = _synthetic(scores_maker)
    assert np.all(rmia(*x, *z, gamma=2.0) <= rmia(*x, *z, gamma=1.0))
    with pytest.raises(UserError, match="a is"):
        population_probability(REF_PX, offline=True, a=1.5)
    with pytest.raises(UserError, match="no 'out'"):
        population_probability(REF_PX, np.ones((2, 2), bool), offline=True)
    with pytest.raises(UserError, match="population sample"):
        rmia(PX, REF_PX, None, np.zeros(0), np.zeros((2, 0)))


def test_a_diverged_reference_model_leaves_its_attacks_out():
    from tffnoise.privacy.strong import attack_scores

    rng = np.random.default_rng(0)
    ref_p = rng.uniform(0.1, 0.9, (4, 6))
    ref_phi = np.log(ref_p / (1 - ref_p))
    in_mask = np.array([[1, 0, 1, 0, 1, 0], [0, 1, 0, 1, 0, 1]] * 2, bool)
    ok = attack_scores(ref_p[0], ref_phi[0], ref_p, ref_phi, in_mask, PZ, np.full((4, 3), 0.2), ["lira", "rmia"])
    assert set(ok) == {"loss", "lira", "lira_offline", "rmia", "rmia_offline"}
    ref_p[1], ref_phi[1] = np.nan, np.nan
    bad = attack_scores(ref_p[0], ref_phi[0], ref_p, ref_phi, in_mask, PZ, np.full((4, 3), 0.2), ["lira", "rmia"])
    assert set(bad) == {"loss"}

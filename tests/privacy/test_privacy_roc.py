"""ROC metrics against hand-computed small cases and scikit-learn.

Deliberate errors these catch (each tried): thresholding at the k-th instead of the (k+1)-th highest
non-member score (off by one), counting ties with the threshold as members (>= instead of >), and a
bootstrap that resamples members and non-members together (counts drift, interval not reproducible).
"""
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

from tffnoise.errors import UserError
from tffnoise.privacy.roc import auc, rate_name, roc_curve, summarize, tpr_at_fpr

MEMBERS = [0.9, 0.8, 0.4]
NONMEMBERS = [0.7, 0.5, 0.3, 0.1]


def test_hand_computed_auc_and_rates():
    # Member beats non-member in 4 + 4 + 2 of the 12 pairs.
    assert auc(MEMBERS, NONMEMBERS) == pytest.approx(10 / 12)
    assert tpr_at_fpr(MEMBERS, NONMEMBERS, 0.0) == pytest.approx(2 / 3)   # above 0.7
    assert tpr_at_fpr(MEMBERS, NONMEMBERS, 0.25) == pytest.approx(2 / 3)  # above 0.5
    assert tpr_at_fpr(MEMBERS, NONMEMBERS, 0.49) == pytest.approx(2 / 3)  # still one false positive
    assert tpr_at_fpr(MEMBERS, NONMEMBERS, 0.5) == pytest.approx(1.0)     # above 0.3
    assert tpr_at_fpr(MEMBERS, NONMEMBERS, 1.0) == 1.0


def test_ties_with_the_threshold_are_not_members():
    # A threshold at 0.5 would also pass the non-member at 0.5 (FPR 1/2): at FPR 0 nothing is caught.
    assert tpr_at_fpr([0.5], [0.5, 0.1], 0.0) == 0.0
    assert tpr_at_fpr([0.5], [0.5, 0.1], 0.5) == 1.0
    assert auc([0.5], [0.5, 0.1]) == pytest.approx(0.75)


def test_curve_hand_computed():
    fpr, tpr, thr = roc_curve(MEMBERS, NONMEMBERS)
    assert thr[0] == np.inf and (fpr[0], tpr[0]) == (0, 0) and (fpr[-1], tpr[-1]) == (1, 1)
    np.testing.assert_allclose(fpr, [0, 0, 0, .25, .5, .5, .75, 1])
    np.testing.assert_allclose(tpr, [0, 1 / 3, 2 / 3, 2 / 3, 2 / 3, 1, 1, 1])


@pytest.mark.parametrize("target", [0.0, 0.01, 0.05, 0.3])
def test_agrees_with_sklearn(target):
    rng = np.random.default_rng(1)
    m, n = np.round(rng.normal(0.5, 1, 300), 1), np.round(rng.normal(0, 1, 500), 1)  # rounded: ties
    fpr, tpr, _ = sk_roc_curve(np.r_[np.ones(300), np.zeros(500)], np.r_[m, n], drop_intermediate=False)
    assert tpr_at_fpr(m, n, target) == pytest.approx(tpr[fpr <= target + 1e-12].max())
    assert auc(m, n) == pytest.approx(roc_auc_score(np.r_[np.ones(300), np.zeros(500)], np.r_[m, n]))
    ours_fpr, ours_tpr, _ = roc_curve(m, n)
    np.testing.assert_allclose(np.interp(np.linspace(0, 1, 50), ours_fpr, ours_tpr),
                               np.interp(np.linspace(0, 1, 50), fpr, tpr))


def test_summary_floor_targets_and_bootstrap():
    rng = np.random.default_rng(2)
    # Indistinguishable scores, but 11 non-members above every member: TPR@1% is 0.
    m, n = rng.uniform(0, 1, 400), np.r_[rng.uniform(0, 1, 989), np.full(11, 5.0)]
    s = summarize(m, n, seed=3)
    assert s["tpr_at_1fpr"] == pytest.approx(1 / 400) and s["tpr_at_1fpr_below_resolution"]
    assert "tpr_at_0p1fpr" not in s  # 1000 non-members: 0.1% is not measurable
    assert s["n_members"] == 400 and s["n_nonmembers"] == 1000
    assert s == summarize(m, n, seed=3)  # seeded
    lo, hi = s["auc_ci"]
    assert lo <= s["auc"] <= hi and hi - lo < 0.1
    big = summarize(rng.normal(1, 1, 500), rng.normal(0, 1, 10_000), seed=0, bootstrap=50)
    assert not big["tpr_at_0p1fpr_below_resolution"] and big["tpr_at_0p1fpr"] <= big["tpr_at_1fpr"]
    lo, hi = big["tpr_at_1fpr_ci"]
    assert lo <= big["tpr_at_1fpr"] <= hi


def test_blocked_bootstrap_equals_one_replicate_at_a_time(monkeypatch):
    """summarize's blocked replicates against the definition, replicate by replicate (the same seeded
    draws: members then non-members), with ties, with blocks that do not divide the count. Deliberate
    errors tried: ties counted as below (AUC), the threshold one position off (TPR): each fails."""
    rng = np.random.default_rng(9)
    m, n = rng.normal(0.8, 1, 150), rng.normal(0, 1, 10_000)
    for decimals in (None, 1):  # continuous, then rounded (ties)
        if decimals:
            m, n = np.round(m, decimals), np.round(n, decimals)
        _check_blocked_bootstrap(monkeypatch, m, n)


def _check_blocked_bootstrap(monkeypatch, m, n):
    import tffnoise.privacy.roc as roc

    draw = np.random.default_rng(4)
    boot = {"auc": [], 0.01: [], 0.001: []}
    for _ in range(30):
        bm, bn = m[draw.integers(0, len(m), len(m))], n[draw.integers(0, len(n), len(n))]
        boot["auc"].append(auc(bm, bn))
        for f in (0.01, 0.001):
            boot[f].append(tpr_at_fpr(bm, bn, f))
    for block_scores in (10 ** 9, 3 * (len(m) + len(n)) + 1):  # one block; blocks of 3 (the last of 0)
        monkeypatch.setattr(roc, "BLOCK_SCORES", block_scores)
        s = summarize(m, n, seed=4, bootstrap=30)
        assert s["auc_ci"][0] < s["auc_ci"][1] and s["tpr_at_1fpr_ci"][1] > 2 / len(m)  # not all at the floor
        assert s["auc_ci"] == [float(v) for v in roc._interval(np.array(boot["auc"]))]
        for f, key in ((0.01, "tpr_at_1fpr"), (0.001, "tpr_at_0p1fpr")):
            want = [max(float(v), 1 / len(m)) for v in roc._interval(np.array(boot[f]))]
            assert s[key + "_ci"] == want, key


def test_bootstrap_interval_covers_the_true_rate():
    # Gaussians one sd apart: true TPR at 1% FPR is 1 - Phi(2.326 - 1) = 0.0925.
    rng = np.random.default_rng(5)
    s = summarize(rng.normal(1, 1, 4000), rng.normal(0, 1, 4000), seed=0, bootstrap=100)
    lo, hi = s["tpr_at_1fpr_ci"]
    assert lo < 0.0925 < hi and hi - lo < 0.06


def test_names_and_errors():
    assert rate_name(0.01) == "tpr_at_1fpr" and rate_name(0.001) == "tpr_at_0p1fpr"
    with pytest.raises(UserError, match="member_scores"):
        auc([], [1.0])
    with pytest.raises(UserError, match="non-finite"):
        tpr_at_fpr([1.0], [np.nan], 0.01)

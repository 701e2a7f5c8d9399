import math

import numpy as np
import pytest
from scipy import stats

from tffnoise.metrics.significance import (bootstrap_ci, compare_to_clean, hedges_g, holm, mann_whitney,
                                           repeats_needed, welch_t)


def test_holm_hand_example():
    # sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → raised to 0.06 (monotone)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # 0.5·2 = 1, max(1, 0.9) = 1
    adj = holm([0.02, float("nan"), 0.04])  # NaN does not count towards m
    assert adj[0] == pytest.approx(0.04) and math.isnan(adj[1]) and adj[2] == pytest.approx(0.04)
    assert holm([]) == []


def test_bootstrap_deterministic_and_covers_mean():
    x = np.random.default_rng(0).normal(0.8, 0.02, size=10)
    a = bootstrap_ci(x, seed=7)
    b = bootstrap_ci(x, seed=7)
    assert a == b
    assert a != bootstrap_ci(x, seed=8)
    lo, hi = a
    assert lo < x.mean() < hi
    # the percentile CI of the mean is about ±1.96·SE wide (loose bounds)
    se = x.std(ddof=1) / math.sqrt(x.size)
    assert 2.5 * se < hi - lo < 5 * se
    lo90, hi90 = bootstrap_ci(x, confidence=0.9, seed=7)
    assert lo <= lo90 and hi90 <= hi


def test_bootstrap_small_samples():
    assert all(math.isnan(v) for v in bootstrap_ci([0.5]))
    assert all(math.isnan(v) for v in bootstrap_ci([]))
    assert bootstrap_ci([0.5, 0.5]) == (0.5, 0.5)


def test_welch_and_mwu_match_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.8, 0.02, 9), rng.normal(0.78, 0.04, 7)
    assert welch_t(a, b) == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)
    assert mann_whitney(a, b) == pytest.approx(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)


def test_tiny_samples_give_nan():
    for f in (welch_t, mann_whitney, hedges_g):
        assert math.isnan(f([0.8], [0.7, 0.75]))
        assert math.isnan(f([], []))


def test_hedges_g_hand():
    # diff 1, pooled SD 1, J = 1 − 3/(4·6 − 9) = 0.8
    assert hedges_g([1, 2, 3], [0, 1, 2]) == pytest.approx(0.8)
    assert hedges_g([0, 1, 2], [1, 2, 3]) == pytest.approx(-0.8)


def test_repeats_needed():
    assert repeats_needed(0.01, 0.01) == 16  # 2·(1.96+0.8416)²  = 15.7
    assert repeats_needed(0.02, 0.01) == 4
    assert repeats_needed(0.01, 0.02) == 63
    assert repeats_needed(0.5, 0.001) == 2
    with pytest.raises(ValueError):
        repeats_needed(0, 0.01)


def _rec(setup, mech, level, repeat, acc):
    # no config: the grouping reads setting_id and clean_id (setup "t" has no clean setting)
    return {"run_id": f"{setup}{mech}{level}{repeat}", "setting_id": f"{setup}{mech}{level}",
            "clean_id": f"{setup}none0", "status": "done", "setup": setup, "protocol": "fedavg",
            "mechanism": mech, "distribution": "" if mech == "none" else "gaussian", "level": level,
            "repeat": repeat, "final": {"test_accuracy": acc, "test_loss": 1 - acc}}


def test_clear_effect_significant_null_not():
    rng = np.random.default_rng(42)
    recs = [_rec("s", "none", 0, r, 0.80 + rng.normal(0, 0.01)) for r in range(10)]
    recs += [_rec("s", "weights", 0.5, r, 0.70 + rng.normal(0, 0.01)) for r in range(10)]  # clear drop
    recs += [_rec("s", "weights", 0.1, r, 0.80 + rng.normal(0, 0.01)) for r in range(10)]  # no effect
    recs += [_rec("t", "weights", 0.1, r, 0.5) for r in range(3)]                           # no clean group
    rows = {(r["key"].setting_id[0], r["level"]): r for r in compare_to_clean(recs)}
    strong, null = rows[("s", 0.5)], rows[("s", 0.1)]
    assert strong["significant"] and not null["significant"]
    assert strong["hedges_g"] < -5 and abs(null["hedges_g"]) < 1.5
    assert strong["ci_low"] < strong["mean"] < strong["ci_high"] and strong["n"] == 10 and strong["clean_n"] == 10
    # Holm within setup "s" (2 tests)
    raw = [strong["p_welch"], null["p_welch"]]
    assert [strong["p_welch_holm"], null["p_welch_holm"]] == pytest.approx(holm(raw))
    orphan = rows[("t", 0.1)]
    assert orphan["clean_n"] == 0 and math.isnan(orphan["p_welch"]) and not orphan["significant"]

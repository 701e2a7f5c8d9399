import math

import pytest

from tffnoise.metrics.significance import mean_ci_t
from tffnoise.metrics.snr import (curve_snr_db, deviation_db, paired_difference, snr, select_level,
                                  snr_by_level)
from tffnoise.metrics.stability import paired_ratios, price_of_anarchy, price_of_stability, stability_table


def rec(sid, clean, mech, level, repeat, acc, loss, *, val=None, test=None, status="done", setup="s",
        rounds=None):
    """A record without a config: the grouping reads setting_id / clean_id. ``val``/``test``: curves."""
    hist = []
    n = len(val or test or [])
    for i in range(n):
        row = {"round": (rounds or range(1, n + 1))[i]}
        if val is not None:
            row["val_accuracy"] = val[i]
        if test is not None:
            row["test_accuracy"] = test[i]
        hist.append(row)
    return {"run_id": f"{sid}-{repeat}", "setting_id": sid, "clean_id": clean, "status": status, "setup": setup,
            "protocol": "fedavg", "mechanism": mech, "distribution": "" if mech == "none" else "uniform",
            "level": level, "repeat": repeat, "history": hist,
            "final": {"test_accuracy": acc, "test_loss": loss, "val_accuracy": (val or [None])[-1]}}


def test_pos_poa_values():
    assert price_of_stability(0.72, 0.8) == pytest.approx(0.9)
    assert price_of_stability([0.7, 0.74], [0.8, 0.8]) == pytest.approx(0.9)
    assert price_of_anarchy([0.6, 0.8], [0.5]) == pytest.approx(1.4)  # loss/loss, not loss/accuracy
    assert math.isnan(price_of_stability([], [0.8]))
    assert math.isnan(price_of_anarchy(0.5, 0.0))
    assert paired_ratios({0: 0.72, 1: 0.9, 5: 0.3}, {0: 0.8, 1: 0.9, 2: 0.7}) == pytest.approx([0.9, 1.0])


def test_stability_table_uses_the_matching_clean_setting_and_pairs_by_repeat():
    recs = [
        rec("c1", "c1", "none", 0, 0, 0.80, 0.50), rec("c1", "c1", "none", 0, 1, 0.84, 0.46),
        rec("c2", "c2", "none", 0, 0, 0.50, 0.90), rec("c2", "c2", "none", 0, 1, 0.52, 0.80),  # another setting
        rec("n1", "c1", "weights", 0.3, 1, 0.756, 0.69), rec("n1", "c1", "weights", 0.3, 0, 0.72, 0.60),
        rec("n1", "c1", "weights", 0.3, 7, 0.75, 0.70),  # repeat 7 has no clean partner
        rec("n1", "c1", "weights", 0.3, 3, 0.1, 9.0, status="diverged"),  # excluded
    ]
    rows = {r["setting_id"]: r for r in stability_table(recs)}
    noisy = rows["n1"]
    assert noisy["n"] == 3 and noisy["clean_n"] == 2
    assert noisy["pos"] == pytest.approx(((0.72 + 0.756 + 0.75) / 3) / 0.82)
    assert noisy["poa"] == pytest.approx(((0.60 + 0.69 + 0.70) / 3) / 0.48)
    assert noisy["n_paired"] == 2  # repeats 0 and 1, each with its own clean run
    assert noisy["pos_paired"] == pytest.approx((0.72 / 0.80 + 0.756 / 0.84) / 2)
    assert noisy["poa_paired"] == pytest.approx((0.60 / 0.50 + 0.69 / 0.46) / 2)
    assert noisy["diff_mean"] == pytest.approx(((0.72 - 0.80) + (0.756 - 0.84)) / 2)
    assert rows["c1"]["pos"] == pytest.approx(1.0) and rows["c2"]["pos"] == pytest.approx(1.0)
    assert noisy["federated"] is True


def test_stability_without_clean_setting_is_nan():
    rows = stability_table([rec("x", "gone", "input", 0.5, 0, 0.7, 0.6), rec("x", "gone", "input", 0.5, 1, 0.72, 0.6)])
    assert len(rows) == 1 and math.isnan(rows[0]["pos"]) and math.isnan(rows[0]["poa"])
    assert math.isnan(rows[0]["snr_db"]) and rows[0]["indistinguishable"] is None


# docs/metrics.md, "Worked example": two repeats, four evaluation rounds each.
CLEAN = {0: [0.50, 0.60, 0.70, 0.80], 1: [0.50, 0.62, 0.70, 0.78]}
NOISY = {0: [0.40, 0.55, 0.65, 0.80], 1: [0.45, 0.60, 0.70, 0.75]}
# repeat 0: Var(v) = 0.085/3, Var(v − c) = 0.005/3  → 10·log10(17)      = 12.304 dB
# repeat 1: Var(v) = 0.0525/3, Var(v − c) = 0.0013/3 → 10·log10(40.385) = 16.062 dB
SNR0, SNR1 = 10 * math.log10(17.0), 10 * math.log10(0.0525 / 0.0013)


def _worked_records():
    recs = [rec("c", "c", "none", 0, r, CLEAN[r][-1], 0.5, val=CLEAN[r]) for r in (1, 0)]
    recs += [rec("n", "c", "weights", 0.3, r, NOISY[r][-1], 0.6, val=NOISY[r]) for r in (0, 1)]
    return recs


def test_snr_worked_example():
    assert curve_snr_db(NOISY[0], CLEAN[0]) == pytest.approx(SNR0, rel=1e-9)
    assert SNR0 == pytest.approx(12.304, abs=1e-3)
    assert curve_snr_db(NOISY[1], CLEAN[1]) == pytest.approx(16.062, abs=1e-3)
    recs = _worked_records()
    s = snr(recs[2:], recs[:2])
    assert s["metric"] == "val_accuracy" and s["n"] == 2
    # each noisy repeat against the clean run of the same repeat (the clean list is in the other order)
    assert s["per_repeat"] == pytest.approx({0: SNR0, 1: SNR1})
    assert s["mean"] == pytest.approx(14.183, abs=1e-3)
    # Student-t CI over the two repeats: ± t(0.975, 1) · SD / √2 = ± 12.706 · 2.657 / √2
    half = 12.7062047 * abs(SNR1 - SNR0) / math.sqrt(2) / math.sqrt(2)
    assert (s["ci_low"], s["ci_high"]) == pytest.approx((s["mean"] - half, s["mean"] + half), rel=1e-6)
    row = next(r for r in stability_table(recs) if r["setting_id"] == "n")
    assert row["snr_db"] == pytest.approx(s["mean"]) and row["snr_metric"] == "val_accuracy"


def test_docs_state_the_worked_example():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text()
    mean, lo, hi = mean_ci_t([SNR0, SNR1])
    for number in (f"{SNR0:.3f} dB", f"{SNR1:.3f} dB", f"Mean {mean:.3f} dB", f"[−{-lo:.2f}, {hi:.2f}]",
                   f"{curve_snr_db(NOISY[0], CLEAN[1]):.2f} dB"):
        assert number in text, number
    assert "SNR = 10 × log10(Signal" in text  # the paper's sentence is quoted


def test_snr_catches_wrong_formulas():
    # unpaired seeds: noisy repeat 0 against clean repeat 1 gives another number
    assert abs(curve_snr_db(NOISY[0], CLEAN[1]) - SNR0) > 0.5
    # the signal is the noisy curve's variance, not the clean curve's
    clean_signal = 10 * math.log10((0.05 / 3) / (0.005 / 3))
    assert abs(clean_signal - SNR0) > 0.5
    # the old "SNR" (clean mean² over squared deviations of final values) is another quantity
    assert abs(deviation_db([0.80, 0.75], [0.80, 0.78]) - SNR0) > 1
    # special cases
    assert curve_snr_db([0.5, 0.6], [0.4, 0.5]) == math.inf  # constant offset: no noise variance
    assert math.isnan(curve_snr_db([0.5], [0.4])) and math.isnan(curve_snr_db([0.5, 0.5], [0.5, 0.5]))


def test_snr_aligns_rounds_and_falls_back_to_the_test_curve():
    # the noisy run evaluated at rounds 2 and 4 only: compared at those rounds
    clean = rec("c", "c", "none", 0, 0, 0.8, 0.5, val=CLEAN[0])
    noisy = rec("n", "c", "weights", 0.3, 0, 0.8, 0.6, val=[0.55, 0.80], rounds=[2, 4])
    assert snr([noisy], [clean])["per_repeat"][0] == pytest.approx(curve_snr_db([0.55, 0.80], [0.60, 0.80]))
    # no validation curve on one run: every run is compared on the test curve, and it says so
    tclean = rec("c", "c", "none", 0, 0, 0.8, 0.5, test=CLEAN[0])
    tnoisy = rec("n", "c", "weights", 0.3, 0, 0.8, 0.6, test=NOISY[0])
    s = snr([tnoisy], [tclean])
    assert s["metric"] == "test_accuracy" and s["per_repeat"][0] == pytest.approx(SNR0)
    assert math.isnan(s["ci_low"])  # one repeat: no CI
    choice = select_level([tclean, tnoisy], "s", "weights")
    assert "test curve (no validation set)" in choice.describe() and "optimistic" in choice.describe()


def test_mean_ci_t_hand():
    # mean 2, SD 1, t(0.975, 2) = 4.3027 → ± 4.3027/√3
    assert mean_ci_t([1, 2, 3]) == pytest.approx((2.0, 2 - 2.48418, 2 + 2.48418), abs=1e-4)
    m, lo, hi = mean_ci_t([0.5])
    assert m == 0.5 and math.isnan(lo) and math.isnan(hi)


def test_indistinguishable_from_clean():
    clean = [rec("c", "c", "none", 0, r, a, 0.5) for r, a in enumerate([0.80, 0.82, 0.78])]
    same = [rec("a", "c", "weights", 0.1, r, a, 0.5) for r, a in enumerate([0.81, 0.81, 0.80])]  # Δ +.01 −.01 +.02
    worse = [rec("b", "c", "weights", 0.5, r, a, 0.5) for r, a in enumerate([0.75, 0.76, 0.74])]  # Δ −.05 −.06 −.04
    d = paired_difference(same, clean)
    assert d["mean"] == pytest.approx(0.02 / 3) and d["indistinguishable"] is True
    assert paired_difference(worse, clean)["indistinguishable"] is False
    assert paired_difference(same[:1], clean)["indistinguishable"] is None


def test_select_level_uses_validation_and_reports_test_and_verdict():
    recs = [rec("c", "c", "none", 0, r, 0.80 + 0.01 * r, 0.5, val=CLEAN[r]) for r in (0, 1)]
    # σ = 0.1 follows the clean curve closely (high SNR) but its final test accuracy is the same as clean;
    # σ = 0.3 is the worked example (lower SNR)
    recs += [rec("a", "c", "weights", 0.1, r, 0.80 + 0.01 * r + 0.001 * (-1) ** r, 0.5,
                 val=[v + 0.01 * (i % 2) for i, v in enumerate(CLEAN[r])]) for r in (0, 1)]
    recs += [rec("b", "c", "weights", 0.3, r, 0.70, 0.6, val=NOISY[r]) for r in (0, 1)]
    choice = select_level(recs, "s", "weights")
    assert choice == 0.1 and choice.metric == "val_accuracy"
    assert choice.test_accuracy == pytest.approx(0.805)
    assert choice.indistinguishable is True and "indistinguishable from clean" in choice.describe()
    table = {row["level"]: row["snr_db"] for row in snr_by_level(recs, "s", "weights")["levels"]}
    assert table[0.3] == pytest.approx((SNR0 + SNR1) / 2) and table[0.1] > table[0.3]


def test_select_level_nothing_to_choose():
    assert math.isnan(select_level([rec("c", "c", "none", 0, 0, 0.8, 0.5)], "s", "weights"))
    assert math.isnan(select_level([rec("n", "gone", "weights", 0.3, 0, 0.8, 0.5, val=[0.1, 0.2])], "s", "weights"))


def test_deviation_db_is_the_old_quantity_under_its_own_name():
    # ā0 = 0.80, mean squared deviation (0.04² + 0.02² + 0.06²)/3 = 0.0018667 → 10·log10(0.64/0.0018667)
    assert deviation_db([0.76, 0.78, 0.74], [0.80, 0.82, 0.78]) == pytest.approx(25.3511, abs=1e-3)
    assert deviation_db([0.8], [0.8]) == math.inf and math.isnan(deviation_db([], [0.8]))


def test_a_single_evaluated_round_gives_no_snr_and_says_why():
    """A run evaluated once (eval_every >= rounds) has no curve variance: no level is chosen, and the reason is named."""
    clean = rec("c", "c", "none", 0, 0, 0.8, 0.5, test=[0.8])
    noisy = rec("n", "c", "weights", 0.3, 0, 0.78, 0.6, test=[0.78])
    assert math.isnan(snr([noisy], [clean])["mean"])
    choice = select_level([clean, noisy], "s", "weights")
    assert math.isnan(choice) and "at least 2 evaluated rounds" in choice.describe()

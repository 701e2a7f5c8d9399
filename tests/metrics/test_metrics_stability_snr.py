import math

import pytest

from tffnoise.metrics.snr import clean_floor_db, select_level, snr_by_level, snr_db
from tffnoise.metrics.stability import paired_ratios, price_of_anarchy, price_of_stability, stability_table


def rec(setup, mech, level, repeat, acc, loss, val=None, dist="uniform", status="done", protocol="fedavg"):
    return {"run_id": f"{setup}-{mech}-{level}-{repeat}", "status": status, "setup": setup, "protocol": protocol,
            "mechanism": mech, "distribution": "" if mech == "none" else dist, "level": level, "repeat": repeat,
            "final": {"test_accuracy": acc, "test_loss": loss, "val_accuracy": val}}


def test_pos_poa_values():
    assert price_of_stability(0.72, 0.8) == pytest.approx(0.9)
    assert price_of_stability([0.7, 0.74], [0.8, 0.8]) == pytest.approx(0.9)
    assert price_of_anarchy([0.6, 0.8], [0.5]) == pytest.approx(1.4)  # loss/loss, not loss/accuracy
    assert math.isnan(price_of_stability([], [0.8]))
    assert math.isnan(price_of_anarchy(0.5, 0.0))
    assert paired_ratios({0: 0.72, 1: 0.9, 5: 0.3}, {0: 0.8, 1: 0.9, 2: 0.7}) == pytest.approx([0.9, 1.0])


def test_stability_table_pooled_clean_reference_and_pairing():
    recs = [
        rec("s", "none", 0, 0, 0.80, 0.50), rec("s", "none", 0, 1, 0.84, 0.46),
        rec("s", "weights", 0.0, 2, 0.82, 0.54),  # level-0 run of another mechanism joins the clean pool
        rec("s", "weights", 0.3, 0, 0.72, 0.60), rec("s", "weights", 0.3, 1, 0.756, 0.69),
        rec("s", "weights", 0.3, 7, 0.75, 0.70),  # repeat 7 has no clean partner
        rec("s", "weights", 0.3, 3, 0.1, 9.0, status="diverged"),  # excluded
    ]
    rows = {(r["mechanism"], r["level"]): r for r in stability_table(recs)}
    noisy = rows[("weights", 0.3)]
    clean_acc, clean_loss = (0.80 + 0.84 + 0.82) / 3, (0.50 + 0.46 + 0.54) / 3
    assert noisy["n"] == 3 and noisy["clean_n"] == 3
    assert noisy["pos"] == pytest.approx(((0.72 + 0.756 + 0.75) / 3) / clean_acc)
    assert noisy["poa"] == pytest.approx(((0.60 + 0.69 + 0.70) / 3) / clean_loss)
    # paired on repeats 0 and 1 only
    assert noisy["n_paired"] == 2
    assert noisy["pos_paired"] == pytest.approx((0.72 / 0.80 + 0.756 / 0.84) / 2)
    assert noisy["poa_paired"] == pytest.approx((0.60 / 0.50 + 0.69 / 0.46) / 2)
    assert rows[("none", 0.0)]["pos"] == pytest.approx(1.0)
    assert noisy["federated"] is True


def test_stability_without_clean_group_is_nan():
    rows = stability_table([rec("x", "input", 0.5, 0, 0.7, 0.6), rec("x", "input", 0.5, 1, 0.72, 0.6)])
    assert len(rows) == 1 and math.isnan(rows[0]["pos"]) and math.isnan(rows[0]["poa"])
    assert math.isnan(rows[0]["snr_db"])


def test_snr_worked_example():
    # docs/metrics.md: ā0 = 0.80, N = (0.04² + 0.02² + 0.06²)/3 = 0.0018667 → 10·log10(0.64/0.0018667)
    assert snr_db([0.76, 0.78, 0.74], [0.80, 0.82, 0.78]) == pytest.approx(25.3511, abs=1e-3)
    assert snr_db([0.8], [0.8]) == math.inf
    assert math.isnan(snr_db([], [0.8])) and math.isnan(snr_db([0.5], []))
    # clean floor: 0.64 / ((0.02² + 0.02²)/3)
    assert clean_floor_db([0.80, 0.82, 0.78]) == pytest.approx(10 * math.log10(0.64 / (0.0008 / 3)))
    # symmetric: a shift up is as much disturbance as a shift down
    assert snr_db([0.85], [0.80]) == pytest.approx(snr_db([0.75], [0.80]))


def _selection_records(with_val=True):
    recs = []
    for r, (t, v) in enumerate([(0.80, 0.80), (0.82, 0.82), (0.78, 0.78)]):
        recs.append(rec("s", "none", 0, r, t, 0.5, v if with_val else None))
    # σ=0.1: fine on test, erratic on validation; σ=0.3: stable on validation, poor on test
    for r, (t, v) in enumerate([(0.80, 0.70), (0.80, 0.90), (0.80, 0.80)]):
        recs.append(rec("s", "weights", 0.1, r, t, 0.5, v if with_val else None))
    for r, (t, v) in enumerate([(0.70, 0.80), (0.71, 0.80), (0.69, 0.81)]):
        recs.append(rec("s", "weights", 0.3, r, t, 0.6, v if with_val else None))
    recs.append(rec("s", "input", 0.5, 0, 0.6, 0.9, 0.6))
    return recs


def test_select_level_uses_validation_and_reports_test():
    choice = select_level(_selection_records(), "s", "weights")
    assert choice == 0.3 and choice.metric == "val_accuracy"
    assert choice.test_accuracy == pytest.approx(0.70)
    assert "val_accuracy" in choice.describe() and "0.7000" in choice.describe()
    assert choice.snr_db == pytest.approx(snr_db([0.80, 0.80, 0.81], [0.80, 0.82, 0.78]))


def test_select_level_falls_back_to_test():
    choice = select_level(_selection_records(with_val=False), "s", "weights")
    assert choice == 0.1 and choice.metric == "test_accuracy"
    assert "optimistic" in choice.describe()
    info = snr_by_level(_selection_records(with_val=False), "s", "weights")
    assert info["metric"] == "test_accuracy" and {row["level"] for row in info["levels"]} == {0.1, 0.3}


def test_select_level_nothing_to_choose():
    choice = select_level([rec("s", "none", 0, 0, 0.8, 0.5)], "s", "weights")
    assert math.isnan(choice)
    choice = select_level([rec("s", "weights", 0.3, 0, 0.8, 0.5)], "s", "weights")  # no clean reference
    assert math.isnan(choice)


def test_clean_floor_needs_two_runs():
    assert math.isnan(clean_floor_db([0.8]))
    rows = stability_table([rec("s", "none", 0, 0, 0.8, 0.5), rec("s", "weights", 0.5, 0, 0.7, 0.6)])
    clean_row = next(r for r in rows if r["level"] == 0)
    assert math.isnan(clean_row["snr_db"])

"""The strong attacks' numbers in reports: per-setting and per-run tables, the TPR@1%FPR figure, and
accuracy at equal TPR by interpolation along each family's level curve (issue 22, items 3 and 6)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from tffnoise.records.groups import Grouping
from tffnoise.reports.build import build_report
from tffnoise.reports.privacy_figure import CHANCE_TPR, figure_privacy_frontier
from tffnoise.reports.privacy_points import accuracy_at_tpr, equal_leakage, privacy_points

# (mechanism or DP mode, level, TPR@1%FPR of LiRA, test accuracy) per setting; 3 repeats at ± 0.01 around each
SETTINGS = [("none", 0.0, 0.30, 0.95),
            ("weights", 0.1, 0.25, 0.94), ("weights", 0.5, 0.12, 0.90),
            ("dp-sgd", 0.5, 0.20, 0.92), ("dp-sgd", 1.0, 0.10, 0.80), ("dp-sgd", 4.0, 0.02, 0.40)]
SPREAD = (-0.01, 0.0, 0.01)


def _records(make_run, config_for, *, below_in_last=False):
    recs = []
    for mech, level, tpr, acc in SETTINGS:
        dp = mech == "dp-sgd"
        noise = {} if dp or mech == "none" else {mech: {"distribution": "gaussian", "level": level}}
        cfg = config_for("periodic-averaging", noise, privacy="dp-sgd" if dp else "none",
                         **({"privacy__noise_multiplier": level} if dp else {}))
        for r, d in enumerate(SPREAD):
            rec = make_run(f"{mech}{level}-{r}", "", "periodic-averaging", "none" if dp else mech,
                           "" if dp or mech == "none" else "gaussian", 0.0 if dp else level, r, acc + d, 0.5,
                           epsilon=10.0 / level if dp else None, mia_auc=0.6, config=cfg)
            t = tpr + d
            below = below_in_last and dp and level == 4.0 and r == 0
            rec["final"].update({"mia_lira_tpr_at_1fpr": 0.0005 if below else t, "mia_lira_auc": 0.5 + t,
                                 "mia_lira_tpr_at_1fpr_ci": [t - 0.02, t + 0.02],
                                 "mia_lira_tpr_at_1fpr_below_resolution": below,
                                 "mia_rmia_tpr_at_1fpr": t, "mia_rmia_auc": 0.5 + t})
            if dp:   # a broken DP run: z = 4's first repeat audits above its ε (2.5)
                broken = level == 4.0 and r == 0
                rec["final"].update({"noise_multiplier": level, "audit_epsilon_lower": 3.0 if broken else 0.3,
                                     "audit_exceeds_epsilon": broken})
            recs.append(rec)
    return recs


# A DP family's level curve as (TPR, accuracy) in level order, z = 0.5, 1, 4
DP_CURVE = [(0.20, 0.92), (0.10, 0.80), (0.02, 0.40)]


def test_interpolation_is_linear_in_tpr_along_the_level_curve():
    # TPR 0.15 lies halfway between z = 0.5 (0.20) and z = 1 (0.10): accuracy halfway, 0.86. Interpolating on
    # the wrong axis (accuracy given by TPR read as a level, or TPR and accuracy swapped) gives another number:
    # np.interp(0.15, levels, acc) over z = (0.5, 1, 4) is 0.92, and along accuracy it is undefined here.
    assert accuracy_at_tpr(DP_CURVE, 0.15) == pytest.approx(0.86, abs=1e-12)
    assert accuracy_at_tpr(DP_CURVE, 0.06) == pytest.approx(0.60, abs=1e-12)   # z = 1 .. 4
    assert accuracy_at_tpr(DP_CURVE, 0.20) == pytest.approx(0.92, abs=1e-12)   # an end point exactly
    assert math.isnan(accuracy_at_tpr(DP_CURVE, 0.25)) and math.isnan(accuracy_at_tpr(DP_CURVE, 0.01))
    # a curve not monotone in TPR brackets 0.15 twice: the best accuracy there is taken
    assert accuracy_at_tpr([(0.2, 0.9), (0.1, 0.7), (0.3, 0.5)], 0.15) == pytest.approx(0.8)


def test_equal_leakage_compares_each_mechanism_setting_with_dp(make_run, config_for):
    rows = equal_leakage(privacy_points(Grouping(_records(make_run, config_for)), "lira"))
    by = {(r["family"], r["level"]): r for r in rows}
    assert set(by) == {("clean", 0.0), ("weights/gaussian", 0.1), ("weights/gaussian", 0.5)}
    assert all(r["dp"] == "dp-sgd" and r["dp_levels"] == [0.5, 1.0, 4.0] for r in rows)
    w = by[("weights/gaussian", 0.5)]          # TPR 0.12: between z = 1 (0.10, 0.80) and z = 0.5 (0.20, 0.92)
    assert w["dp_acc"] == pytest.approx(0.80 + 0.2 * 0.12, abs=1e-9)
    assert w["diff"] == pytest.approx(0.90 - w["dp_acc"], abs=1e-9)
    assert math.isnan(by[("clean", 0.0)]["dp_acc"])   # TPR 0.30: above every DP level's, no extrapolation


def test_summary_tables_show_tpr_beside_auc_per_setting_and_run(tmp_path, make_run, config_for):
    res = build_report(_records(make_run, config_for, below_in_last=True), tmp_path)
    text = open(res["summary"], encoding="utf-8").read()
    assert "## Privacy comparison" in text and "### Privacy per run" in text
    header = next(line for line in text.splitlines() if line.startswith("| setup |"))
    for col in ("ε", "audit ε ≥", "LiRA AUC", "RMIA AUC", "LiRA TPR@1%FPR", "RMIA TPR@1%FPR", "MIA AUC"):
        assert f"| {col} |" in header, col
    # weights σ=0.5: mean 0.12 with the Student-t CI over its 3 repeats (±0.01 around it: half-width 0.0248)
    assert "| 0.1200 [0.0952, 0.1448] |" in text
    assert "(1/3 below resolution)" in text and "≤ 0.0005 (below resolution)" in text
    assert "| 0.1200 [0.1000, 0.1400] |" in text       # one run with its bootstrap interval over examples
    assert "| 1.200 **exceeds ε in 1/3** |" in text and "| 0.300 |" in text   # the audit beside ε
    assert "linear interpolation along its level curve" in text
    assert "Accuracy at equal LiRA TPR@1%FPR" in text and "Accuracy at equal RMIA TPR@1%FPR" in text


def test_figure_plots_tpr_against_accuracy_per_family(make_run, config_for):
    fig = figure_privacy_frontier(Grouping(_records(make_run, config_for)))
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["LiRA", "RMIA"]
    ax = axes[0]
    assert "TPR at 1% FPR" in ax.get_xlabel() and "accuracy" in ax.get_ylabel()
    def xy(line):
        return tuple(np.round(np.asarray(line.get_xdata(), float), 6)), tuple(np.round(np.asarray(line.get_ydata(), float), 6))

    data = dict(xy(line) for line in ax.get_lines() if line.get_marker() not in (None, "None", "", "|", "_"))
    assert data[(0.2, 0.1, 0.02)] == (0.92, 0.8, 0.4)      # DP-SGD along z = 0.5, 1, 4: x = TPR, y = accuracy
    assert data[(0.25, 0.12)] == (0.94, 0.9)               # weights/gaussian along σ
    assert data[(0.3,)] == (0.95,)                         # clean
    dotted = [xy(line) for line in ax.get_lines() if line.get_linestyle() == ":"]
    assert ((CHANCE_TPR, CHANCE_TPR), (0.0, 1.0)) in dotted           # the chance line, axes-high
    assert ((0.3, 0.25), (0.95, 0.94)) in dotted                      # the mechanism's line starts at clean
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert {"clean", "weights/gaussian", "dp-sgd"} <= set(legend)
    assert "TPR at 1% FPR" in fig._suptitle.get_text()


def test_runs_without_reference_models_are_placed_by_the_loss_attack(tmp_path, make_run, config_for):
    # Every run has the default loss attack's TPR; the DP runs (like DP-FedAvg's few clients) have no LiRA.
    recs = _records(make_run, config_for)
    for rec in recs:
        f = rec["final"]
        f["mia_loss_tpr_at_1fpr"] = f["mia_lira_tpr_at_1fpr"] / 2
        if rec["config"]["privacy"]["mode"] != "none":
            for k in [k for k in f if k.startswith(("mia_lira", "mia_rmia"))]:
                del f[k]
    fig = figure_privacy_frontier(Grouping(recs))
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles[-1] == "loss attack" and titles[0].startswith("LiRA (")   # LiRA's panel names what it lacks
    rows = equal_leakage(privacy_points(Grouping(recs), "loss"))
    w = next(r for r in rows if r["family"] == "weights/gaussian" and r["level"] == 0.5)
    assert w["tpr"] == pytest.approx(0.06) and w["dp_acc"] == pytest.approx(0.80 + 0.2 * 0.12, abs=1e-9)
    text = open(build_report(recs, tmp_path)["summary"], encoding="utf-8").read()
    assert "Accuracy at equal loss attack TPR@1%FPR" in text and "| loss attack TPR@1%FPR |" in text


def test_client_level_attacks_get_their_own_columns(tmp_path, make_run, config_for):
    """DP-FedAvg's client-level results (`mia_client_*`, privacy/client_level.py) are shown as client
    attacks, never merged into the example-level LiRA columns."""
    recs = _records(make_run, config_for)
    for rec in recs:
        rec["final"].update({"mia_client_lira_tpr_at_1fpr": 0.07, "mia_client_lira_auc": 0.61})
    text = open(build_report(recs, tmp_path)["summary"], encoding="utf-8").read()
    header = next(line for line in text.splitlines() if line.startswith("| setup |"))
    assert "| client LiRA AUC |" in header and "| client LiRA TPR@1%FPR |" in header
    assert "| LiRA TPR@1%FPR |" in header and "| 0.0700 " in text

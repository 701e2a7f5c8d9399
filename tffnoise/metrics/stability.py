"""Price of Stability and Price of Anarchy (paper 2).

    PoS_i = test accuracy(σ_i) / test accuracy(σ_0)     > 1: noise helped accuracy
    PoA_i = test loss(σ_i)     / test loss(σ_0)         > 1: noise hurt the loss

Paper 2 prints PoA_i = test loss(σ_i) / test *accuracy*(σ_0); that mixes units and is a typo — the
loss/loss ratio is used here. σ_0 is the group's clean reference: the setting identical in everything
but the noise (`tffnoise.records.groups`).

Both are computed on group means (``pos``/``poa``) and as the mean of per-repeat ratios, each noisy
run over the clean run with the same repeat index (``pos_paired``/``poa_paired``).
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from tffnoise.metrics.snr import paired_difference, snr_by_level
from tffnoise.records import runs as _rec
from tffnoise.records.groups import Grouping


def _mean(x) -> float:
    if isinstance(x, (int, float, np.floating, np.integer)):
        return float(x)
    vals = _rec.finite(x)
    return float(np.mean(vals)) if vals else math.nan


def _ratio(num, den) -> float:
    n, d = _mean(num), _mean(den)
    if not (math.isfinite(n) and math.isfinite(d)) or d == 0:
        return math.nan
    return n / d


def price_of_stability(acc_sigma, acc_0) -> float:
    """mean(acc_sigma) / mean(acc_0); scalars or sequences; NaN when undefined (empty, zero denominator)."""
    return _ratio(acc_sigma, acc_0)


def price_of_anarchy(loss_sigma, loss_0) -> float:
    """mean(loss_sigma) / mean(loss_0) — test loss over clean test loss (paper's "accuracy" denominator is a typo)."""
    return _ratio(loss_sigma, loss_0)


def paired_ratios(sigma_by_repeat: Mapping[int, float], zero_by_repeat: Mapping[int, float]) -> list[float]:
    """Per-repeat ratios sigma[r] / zero[r] over the repeat indices both have (zero denominators skipped)."""
    out = []
    for r in sorted(set(sigma_by_repeat) & set(zero_by_repeat)):
        num, den = float(sigma_by_repeat[r]), float(zero_by_repeat[r])
        if math.isfinite(num) and math.isfinite(den) and den != 0:
            out.append(num / den)
    return out


def stability_table(records) -> list[dict]:
    """One row per group (clean groups included, with PoS = PoA = 1 by construction of the reference).

    Keys: key (the GroupKey), setup, series, setting_id, clean_id, protocol, federated, mechanism,
    distribution, level, n, test_accuracy, test_loss, pos, poa, pos_paired, poa_paired, n_paired,
    snr_db, snr_ci_low, snr_ci_high, snr_n, snr_metric, diff_mean, diff_ci_low, diff_ci_high, diff_n,
    indistinguishable, clean_n. The SNR is paper 2's paired curve SNR (`snr.snr`) on the curve
    `select_level` uses for the group's line; clean groups have none (NaN). ``diff_*`` is the paired
    difference of final test accuracy from clean (`snr.paired_difference`)."""
    grouping = records if isinstance(records, Grouping) else Grouping(records)
    rows = []
    snr_cache: dict[tuple, dict] = {}
    nan = math.nan
    for key, runs in grouping.groups.items():
        clean = grouping.clean(key)
        acc = _rec.metric_values(runs, "test_accuracy")
        loss = _rec.metric_values(runs, "test_loss")
        c_acc, c_loss = _rec.metric_values(clean, "test_accuracy"), _rec.metric_values(clean, "test_loss")
        pos_p = paired_ratios(_rec.metric_by_repeat(runs, "test_accuracy"), _rec.metric_by_repeat(clean, "test_accuracy"))
        poa_p = paired_ratios(_rec.metric_by_repeat(runs, "test_loss"), _rec.metric_by_repeat(clean, "test_loss"))
        snr = dict(snr_db=nan, ci_low=nan, ci_high=nan, n=0)
        diff = dict(mean=nan, ci_low=nan, ci_high=nan, n=0, indistinguishable=None)
        snr_metric = ""
        if not key.is_clean:
            line = (key.setup, key.mechanism, key.distribution, key.series)
            if line not in snr_cache:
                snr_cache[line] = snr_by_level(grouping, *line)
            info = snr_cache[line]
            snr_metric = info["metric"]
            snr = next(r for r in info["levels"] if r["key"] == key)
            diff = paired_difference(runs, clean)
        protocol = str(runs[0].get("protocol", "")) if runs else ""
        rows.append(dict(
            key=key, setup=key.setup, series=key.series, setting_id=key.setting_id, clean_id=key.clean_id,
            protocol=protocol, federated=_rec.is_federated(protocol), mechanism=key.mechanism,
            distribution=key.distribution, level=key.level, n=len(runs),
            test_accuracy=_mean(acc), test_loss=_mean(loss),
            pos=price_of_stability(acc, c_acc), poa=price_of_anarchy(loss, c_loss),
            pos_paired=float(np.mean(pos_p)) if pos_p else nan,
            poa_paired=float(np.mean(poa_p)) if poa_p else nan,
            n_paired=len(pos_p), snr_db=snr["snr_db"], snr_ci_low=snr["ci_low"], snr_ci_high=snr["ci_high"],
            snr_n=snr["n"], snr_metric=snr_metric, diff_mean=diff["mean"], diff_ci_low=diff["ci_low"],
            diff_ci_high=diff["ci_high"], diff_n=diff["n"], indistinguishable=diff["indistinguishable"],
            clean_n=len(clean),
        ))
    return rows

"""Price of Stability and Price of Anarchy (paper 2).

    PoS_i = test accuracy(σ_i) / test accuracy(σ_0)     > 1: noise helped accuracy
    PoA_i = test loss(σ_i)     / test loss(σ_0)         > 1: noise hurt the loss

Paper 2 prints PoA_i = test loss(σ_i) / test *accuracy*(σ_0); that mixes units and is a typo — the
loss/loss ratio is used here. σ_0 is the setup's clean reference (all done level-0 runs pooled).

Both are computed on group means (``pos``/``poa``) and, where repeat indices align between the noisy
group and the clean runs, as the mean of per-repeat ratios (``pos_paired``/``poa_paired``).
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping

import numpy as np

from tffnoise.metrics.snr import clean_floor_db, snr_by_level
from tffnoise.reports import records as _rec


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


def stability_table(records: Iterable[dict]) -> list[dict]:
    """One row per group (clean groups included, with PoS = PoA = 1 by construction of the reference).

    Keys: setup, protocol, federated, mechanism, distribution, level, n, test_accuracy, test_loss,
    pos, poa, pos_paired, poa_paired, n_paired, snr_db, snr_metric, clean_n. ``snr_db`` for a level-0
    group is the clean floor (clean runs against their own mean); for a noisy group it uses the same
    accuracy metric as ``select_level`` for its (setup, mechanism)."""
    records = list(records)
    rows = []
    clean_cache: dict[str, tuple] = {}
    snr_cache: dict[tuple, dict] = {}
    for key, runs in _rec.group_records(records).items():
        if key.setup not in clean_cache:
            clean = _rec.clean_runs(records, key.setup)
            clean_cache[key.setup] = (
                clean,
                _rec.metric_values(clean, "test_accuracy"), _rec.metric_values(clean, "test_loss"),
                _rec.metric_by_repeat(clean, "test_accuracy"), _rec.metric_by_repeat(clean, "test_loss"),
            )
        clean, c_acc, c_loss, c_acc_r, c_loss_r = clean_cache[key.setup]
        acc = _rec.metric_values(runs, "test_accuracy")
        loss = _rec.metric_values(runs, "test_loss")
        is_ref = key.level == 0 or key.mechanism == "none"
        pos_p = paired_ratios(_rec.metric_by_repeat(runs, "test_accuracy"), c_acc_r)
        poa_p = paired_ratios(_rec.metric_by_repeat(runs, "test_loss"), c_loss_r)
        if is_ref:
            snr_metric = _rec.choose_accuracy_metric(clean)
            snr = clean_floor_db(_rec.metric_values(clean, snr_metric))
        else:
            mk = (key.setup, key.mechanism)
            if mk not in snr_cache:
                snr_cache[mk] = snr_by_level(records, key.setup, key.mechanism)
            info = snr_cache[mk]
            snr_metric = info["metric"]
            snr = next((r["snr_db"] for r in info["levels"]
                        if r["level"] == key.level and r["distribution"] == key.distribution), math.nan)
        protocol = str(runs[0].get("protocol", "")) if runs else ""
        rows.append(dict(
            setup=key.setup, protocol=protocol, federated=_rec.is_federated(protocol), mechanism=key.mechanism,
            distribution=key.distribution, level=key.level, n=len(runs),
            test_accuracy=_mean(acc), test_loss=_mean(loss),
            pos=price_of_stability(acc, c_acc), poa=price_of_anarchy(loss, c_loss),
            pos_paired=float(np.mean(pos_p)) if pos_p else math.nan,
            poa_paired=float(np.mean(poa_p)) if poa_p else math.nan,
            n_paired=len(pos_p), snr_db=snr,
            snr_metric=snr_metric, clean_n=len(clean),
        ))
    return rows

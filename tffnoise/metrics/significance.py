"""Uncertainty and significance for "noise level σ versus clean" comparisons.

* ``bootstrap_ci``   – percentile bootstrap CI of the mean, seeded (deterministic).
* ``hedges_g``       – standardized mean difference with small-sample correction.
* ``welch_t``        – two-sided Welch t-test p-value (unequal variances).
* ``mann_whitney``   – two-sided Mann–Whitney U p-value (rank based, no normality assumption).
* ``holm``           – Holm–Bonferroni step-down adjustment (family-wise error control).
* ``mean_ci_t``      – Student-t CI of a mean over repeats.
* ``compare_to_clean`` – one row per noisy group against the runs of its clean reference setting.
* ``repeats_needed`` – repeats per arm to detect a difference (normal approximation).

Samples with fewer than 2 values give NaN statistics instead of raising.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Iterable, Sequence

import numpy as np
from scipy import stats as _st

from tffnoise.records import runs as _rec
from tffnoise.records.groups import Grouping

ALPHA = 0.05


def _arr(values: Iterable[float]) -> np.ndarray:
    x = np.asarray([float(v) for v in values if v is not None], dtype=float)
    return x[np.isfinite(x)]


def bootstrap_ci(values: Iterable[float], *, confidence: float = 0.95, n_boot: int = 10000,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean: resample ``n`` values with replacement
    ``n_boot`` times (``numpy.random.default_rng(seed)``), take the (1−c)/2 and (1+c)/2 quantiles of
    the resampled means. ``(nan, nan)`` for fewer than 2 values."""
    x = _arr(values)
    if x.size < 2:
        return (math.nan, math.nan)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    rng = np.random.default_rng(seed)
    means = np.empty(int(n_boot))
    chunk = max(1, 200_000 // x.size)
    for start in range(0, int(n_boot), chunk):
        stop = min(int(n_boot), start + chunk)
        idx = rng.integers(0, x.size, size=(stop - start, x.size))
        means[start:stop] = x[idx].mean(axis=1)
    tail = (1 - confidence) / 2
    lo, hi = np.quantile(means, [tail, 1 - tail])
    return (float(lo), float(hi))


def mean_ci_t(values: Iterable[float], *, confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the Student-t confidence interval of the mean, mean ± t_{(1+c)/2, n−1}·s/√n with
    s the sample SD (ddof 1). Used over repeats, where n is small and a bootstrap interval is too narrow.
    Low and high are NaN with fewer than 2 values or a non-finite value; the mean is NaN with none."""
    x = np.asarray([float(v) for v in values if v is not None], dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return (math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if x.size < 2 or not np.all(np.isfinite(x)):
        return (mean, math.nan, math.nan)
    half = float(_st.t.ppf((1 + confidence) / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return (mean, mean - half, mean + half)


def hedges_g(a: Iterable[float], b: Iterable[float]) -> float:
    """Hedges' g of ``a`` versus ``b``: (mean a − mean b) / pooled SD × (1 − 3 / (4(n_a+n_b) − 9)).

    Positive when ``a`` is larger. NaN when either sample has fewer than 2 values or the pooled SD
    is 0."""
    x, y = _arr(a), _arr(b)
    na, nb = x.size, y.size
    if na < 2 or nb < 2:
        return math.nan
    pooled = math.sqrt(((na - 1) * x.var(ddof=1) + (nb - 1) * y.var(ddof=1)) / (na + nb - 2))
    if pooled == 0:
        return math.nan
    d = (x.mean() - y.mean()) / pooled
    return float(d * (1 - 3 / (4 * (na + nb) - 9)))


def welch_t(a: Iterable[float], b: Iterable[float]) -> float:
    """Two-sided Welch t-test p-value; NaN when either sample has fewer than 2 values or both are constant."""
    x, y = _arr(a), _arr(b)
    if x.size < 2 or y.size < 2:
        return math.nan
    if x.var() == 0 and y.var() == 0:
        return math.nan if x.mean() == y.mean() else 0.0
    return float(_st.ttest_ind(x, y, equal_var=False).pvalue)


def mann_whitney(a: Iterable[float], b: Iterable[float]) -> float:
    """Two-sided Mann–Whitney U p-value (``scipy.stats.mannwhitneyu``, method "auto"); NaN when either
    sample has fewer than 2 values."""
    x, y = _arr(a), _arr(b)
    if x.size < 2 or y.size < 2:
        return math.nan
    return float(_st.mannwhitneyu(x, y, alternative="two-sided").pvalue)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, in the input order.

    Sort the m finite p-values ascending, p_(k) → max_{j≤k} min(1, (m − j + 1)·p_(j)). NaN entries
    stay NaN and do not count towards m."""
    p = [float(v) if v is not None else math.nan for v in pvalues]
    idx = [i for i, v in enumerate(p) if math.isfinite(v)]
    m = len(idx)
    out = [math.nan] * len(p)
    running = 0.0
    for rank, i in enumerate(sorted(idx, key=lambda i: p[i])):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def repeats_needed(effect: float, sd: float, power: float = 0.8, alpha: float = ALPHA) -> int:
    """Repeats per arm for a two-sided two-sample test to detect a mean difference ``effect`` with
    common standard deviation ``sd`` (normal approximation):

        n = ceil( 2 · (z_{1−α/2} + z_{power})² · sd² / effect² ),  at least 2.

    Example: effect 0.01 (one accuracy point), sd 0.01, power 0.8, α 0.05 → 16 per arm."""
    if not 0 < power < 1 or not 0 < alpha < 1:
        raise ValueError("power and alpha must be in (0, 1)")
    effect, sd = abs(float(effect)), abs(float(sd))
    if effect == 0 or not math.isfinite(effect) or not math.isfinite(sd):
        raise ValueError("effect must be a non-zero finite number and sd finite")
    z = NormalDist().inv_cdf
    n = 2 * (z(1 - alpha / 2) + z(power)) ** 2 * sd ** 2 / effect ** 2
    return max(2, math.ceil(n - 1e-9))


def compare_to_clean(records: Iterable[dict], *, metric: str = "test_accuracy", confidence: float = 0.95,
                     n_boot: int = 10000, seed: int = 0, alpha: float = ALPHA) -> list[dict]:
    """Each noisy group against the runs of its own clean reference setting, on final ``metric``.

    Row keys: key (the GroupKey), setup, mechanism, distribution, level, series, n, mean, median, ci_low,
    ci_high, clean_n, clean_mean, diff, hedges_g, p_welch, p_mwu, p_welch_holm, p_mwu_holm, significant.
    Holm is applied separately to the Welch and to the MWU p-values, within each setup (family = all
    noisy groups of that setup). ``significant`` is True when *both* Holm-adjusted p-values are below
    ``alpha`` (False when either is NaN, e.g. no clean runs or n < 2).
    """
    grouping = records if isinstance(records, Grouping) else Grouping(records)
    rows: list[dict] = []
    for key, runs in grouping.noisy().items():
        clean = _rec.metric_values(grouping.clean(key), metric)
        vals = _rec.metric_values(runs, metric)
        lo, hi = bootstrap_ci(vals, confidence=confidence, n_boot=n_boot, seed=seed)
        mean = float(np.mean(vals)) if vals else math.nan
        clean_mean = float(np.mean(clean)) if clean else math.nan
        rows.append(dict(key=key, setup=key.setup, mechanism=key.mechanism, distribution=key.distribution,
                         level=key.level, series=key.series, metric=metric, n=len(vals), mean=mean,
                         median=float(np.median(vals)) if vals else math.nan, ci_low=lo, ci_high=hi,
                         clean_n=len(clean), clean_mean=clean_mean, diff=mean - clean_mean,
                         hedges_g=hedges_g(vals, clean), p_welch=welch_t(vals, clean), p_mwu=mann_whitney(vals, clean)))
    for setup in {r["setup"] for r in rows}:
        fam = [r for r in rows if r["setup"] == setup]
        for name in ("p_welch", "p_mwu"):
            for r, adj in zip(fam, holm([r[name] for r in fam])):
                r[name + "_holm"] = adj
    for r in rows:
        r["significant"] = bool(r["p_welch_holm"] < alpha and r["p_mwu_holm"] < alpha)
    return rows

"""Paper 2's signal-to-noise ratio of a noise level, as written, and choosing the level by it.

Paper 2 ("The Paradox of Noise"): SNR = 10·log10(signal variance / noise variance), the level with the
maximum SNR preferred; its summary reads it as "the ratio of validation accuracy variance to the
difference in validation accuracy between noisy and clean models". The paper trains once per setting,
so both variances are over the validation curve of a run. Per repeat r, pairing the noisy run with the
clean reference run of the same repeat index (the same seed), over the evaluation rounds t where both
have a value:

    v_r(t)  validation accuracy of the noisy run,  c_r(t)  of the clean run
    S_r     = Var_t v_r(t)               (ddof 1)   signal variance
    N_r     = Var_t (v_r(t) − c_r(t))    (ddof 1)   noise variance
    SNR_r   = 10·log10(S_r / N_r)  [dB]

reported as the mean over repeats with a Student-t 95 % CI (`mean_ci_t`). Without a validation curve
(``data.validation_fraction = 0``) the test accuracy curve is used and the metric says so. The worked
example with numbers is in docs/metrics.md (and checked by tests/metrics).

`deviation_db` keeps the quantity this module called SNR before (clean mean² over the mean squared
deviation of final accuracies from the clean mean); it is not paper 2's SNR and the report does not
show it.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from tffnoise.metrics.significance import mean_ci_t
from tffnoise.records import runs as _rec
from tffnoise.records.groups import GroupKey, Grouping
from tffnoise.records.runs import by_repeat

CURVE_LABEL = {"val_accuracy": "validation curve", "test_accuracy": "test curve (no validation set)"}


def curve_snr_db(noisy: Iterable[float], clean: Iterable[float]) -> float:
    """10·log10(Var(noisy) / Var(noisy − clean)), both ddof 1, over aligned points of one repeat.

    NaN with fewer than 2 points or when both variances are 0; +inf when the curves differ by a
    constant (no noise variance); −inf when the noisy curve is flat but the difference is not."""
    a = np.asarray(list(noisy), dtype=float)
    b = np.asarray(list(clean), dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"curves of different lengths: {a.size} and {b.size}")
    if a.size < 2:
        return math.nan
    signal = float(np.var(a, ddof=1))
    noise = float(np.var(a - b, ddof=1))
    if signal == 0 and noise == 0:
        return math.nan
    if noise == 0:
        return math.inf
    if signal == 0:
        return -math.inf
    return 10.0 * math.log10(signal / noise)


def aligned_curves(noisy: dict, clean: dict, metric: str) -> tuple[list[float], list[float], list[float]]:
    """(rounds, noisy values, clean values) at the rounds where both runs have a finite ``metric``."""
    xs, ys = _rec.history_series(noisy, metric)
    ref = dict(zip(*_rec.history_series(clean, metric)))
    keep = [(x, y, ref[x]) for x, y in zip(xs, ys) if x in ref]
    return [k[0] for k in keep], [k[1] for k in keep], [k[2] for k in keep]


def curve_metric(runs: Iterable[dict]) -> str:
    """"val_accuracy" when every run has a validation curve (2+ evaluated rounds), else "test_accuracy"."""
    runs = list(runs)
    if runs and all(len(_rec.history_series(r, "val_accuracy")[0]) >= 2 for r in runs):
        return "val_accuracy"
    return "test_accuracy"


def snr(noisy_runs: Iterable[dict], clean_runs: Iterable[dict], metric: str | None = None) -> dict:
    """SNR per repeat (noisy run r against the clean run with repeat index r) and its mean and 95 % CI.

    Returns ``{"metric", "per_repeat": {r: dB}, "n", "mean", "ci_low", "ci_high"}``; repeats without a
    clean partner or with fewer than 2 common evaluated rounds are left out (NaN SNR)."""
    noisy, clean = by_repeat(noisy_runs), by_repeat(clean_runs)
    if metric is None:
        metric = curve_metric([*noisy.values(), *clean.values()])
    per = {}
    for r in sorted(set(noisy) & set(clean)):
        _, a, b = aligned_curves(noisy[r], clean[r], metric)
        value = curve_snr_db(a, b)
        if not math.isnan(value):
            per[r] = value
    mean, lo, hi = mean_ci_t(per.values())
    return dict(metric=metric, per_repeat=per, n=len(per), mean=mean, ci_low=lo, ci_high=hi)


def paired_difference(noisy_runs: Iterable[dict], clean_runs: Iterable[dict], metric: str = "test_accuracy") -> dict:
    """Mean over repeats of final ``metric`` (noisy run r − clean run r) with its Student-t 95 % CI.

    ``indistinguishable`` is True when the CI contains 0, False when it does not, None with < 2 pairs."""
    noisy, clean = by_repeat(noisy_runs), by_repeat(clean_runs)
    diffs = []
    for r in sorted(set(noisy) & set(clean)):
        d = _rec.final_metric(noisy[r], metric) - _rec.final_metric(clean[r], metric)
        if math.isfinite(d):
            diffs.append(d)
    mean, lo, hi = mean_ci_t(diffs)
    same = None if math.isnan(lo) else bool(lo <= 0 <= hi)
    return dict(metric=metric, n=len(diffs), mean=mean, ci_low=lo, ci_high=hi, indistinguishable=same)


def deviation_db(noisy: Iterable[float], clean: Iterable[float]) -> float:
    """10·log10(ā₀² / mean_r (a_r − ā₀)²) over final accuracies: clean mean squared over the mean squared
    deviation from it. Not paper 2's SNR (the "signal" is a squared mean, not a variance); kept under
    this name only. NaN when a side is empty or ā₀ = 0, +inf when every value equals ā₀."""
    a = np.asarray(_rec.finite(noisy), dtype=float)
    c = np.asarray(_rec.finite(clean), dtype=float)
    if a.size == 0 or c.size == 0:
        return math.nan
    ref = float(c.mean())
    noise = float(np.mean((a - ref) ** 2))
    if ref == 0:
        return math.nan
    if noise == 0:
        return math.inf
    return 10.0 * math.log10(ref ** 2 / noise)


def _line_candidates(grouping: Grouping, setup: str, mechanism: str, distribution: str | None,
                     series: str | None) -> dict[GroupKey, list[dict]]:
    return {k: v for k, v in grouping.noisy().items()
            if k.setup == setup and k.mechanism == mechanism
            and (distribution is None or k.distribution == distribution) and (series is None or k.series == series)}


def snr_by_level(records, setup: str, mechanism: str, distribution: str | None = None,
                 series: str | None = None) -> dict:
    """Paired SNR of every noisy group of (setup, mechanism[, distribution[, series]]).

    Returns ``{"metric", "levels": [{"key", "distribution", "series", "level", "n", "snr_db", "ci_low",
    "ci_high"}, ...]}``. The curve is validation accuracy only when *every* run involved (clean
    references included) has one, so all levels are compared on the same footing."""
    grouping = records if isinstance(records, Grouping) else Grouping(records)
    cands = _line_candidates(grouping, setup, mechanism, distribution, series)
    involved = [r for k, runs in cands.items() for r in [*runs, *grouping.clean(k)]]
    metric = curve_metric(involved)
    levels = []
    for key, runs in cands.items():
        s = snr(runs, grouping.clean(key), metric)
        levels.append(dict(key=key, distribution=key.distribution, series=key.series, level=key.level, n=s["n"],
                           snr_db=s["mean"], ci_low=s["ci_low"], ci_high=s["ci_high"]))
    return dict(metric=metric, levels=levels)


class SelectedLevel(float):
    """The chosen noise level (a float) with how it was chosen.

    Attributes: ``metric`` (the curve the SNR used), ``snr_db`` with ``snr_ci``, ``distribution``,
    ``series``, ``n``, ``test_accuracy`` (mean final test accuracy there: the number to report),
    ``difference`` (`paired_difference` of final test accuracy against clean, with ``indistinguishable``),
    ``table`` (every candidate)."""

    metric: str
    snr_db: float
    snr_ci: tuple
    distribution: str
    series: str
    n: int
    test_accuracy: float
    difference: dict
    table: list

    def __new__(cls, level: float, **info):
        obj = super().__new__(cls, level)
        for k, v in info.items():
            setattr(obj, k, v)
        return obj

    @property
    def level(self) -> float:
        return float(self)

    @property
    def indistinguishable(self):
        return (self.difference or {}).get("indistinguishable")

    def describe(self, *, line: bool = True) -> str:
        """One sentence for the report; ``line=False`` leaves out the distribution and series (the caller
        names the line)."""
        curve = CURVE_LABEL.get(self.metric, self.metric)
        if math.isnan(self):
            return (f"no level selectable ({curve}): the SNR needs, per repeat, a clean run with the same seed and "
                    "at least 2 evaluated rounds in both curves (training.eval_every below training.rounds)")
        dist = f"/{self.distribution}" if self.distribution and line else ""
        series = f" {self.series}" if self.series and line else ""
        lo, hi = self.snr_ci
        ci = f" [{lo:.2f}, {hi:.2f}]" if math.isfinite(lo) and math.isfinite(hi) else ""
        warn = "" if self.metric == "val_accuracy" else ", selected on test data: optimistic"
        test = "" if math.isnan(self.test_accuracy) else f"; test accuracy there {self.test_accuracy:.4f}"
        d = self.difference or {}
        if d.get("indistinguishable") is None:
            verdict = f"; paired difference from clean needs 2+ repeats (n={d.get('n', 0)})"
        else:
            word = "indistinguishable from clean" if d["indistinguishable"] else "differs from clean"
            verdict = (f"; **{word}** (paired Δ test accuracy {d['mean']:+.4f}, 95% CI "
                       f"[{d['ci_low']:+.4f}, {d['ci_high']:+.4f}], n={d['n']})")
        return (f"σ={self.level:g}{dist}{series}: SNR {self.snr_db:.2f} dB{ci} on the {curve} "
                f"(mean over {self.n} repeats{warn}){test}{verdict}")

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return f"SelectedLevel({float(self)!r}, metric={self.metric!r}, snr_db={self.snr_db!r})"


def select_level(records, setup: str, mechanism: str, distribution: str | None = None,
                 series: str | None = None) -> SelectedLevel:
    """The noise level (> 0) of (setup, mechanism[, distribution[, series]]) with the highest mean SNR.

    Ties go to the smaller level. NaN (with ``.metric`` set) when no noisy group has an SNR."""
    grouping = records if isinstance(records, Grouping) else Grouping(records)
    info = snr_by_level(grouping, setup, mechanism, distribution, series)
    table = info["levels"]
    usable = [row for row in table if not math.isnan(row["snr_db"])]
    if not usable:
        return SelectedLevel(math.nan, metric=info["metric"], snr_db=math.nan, snr_ci=(math.nan, math.nan),
                             distribution="", series="", n=0, test_accuracy=math.nan, difference={}, table=table)
    best = sorted(usable, key=lambda row: (-row["snr_db"], row["level"], row["distribution"], row["series"]))[0]
    key = best["key"]
    runs = grouping.groups.get(key, [])
    test_vals = _rec.metric_values(runs, "test_accuracy")
    return SelectedLevel(best["level"], metric=info["metric"], snr_db=best["snr_db"],
                         snr_ci=(best["ci_low"], best["ci_high"]), distribution=best["distribution"],
                         series=best["series"], n=best["n"],
                         test_accuracy=float(np.mean(test_vals)) if test_vals else math.nan,
                         difference=paired_difference(runs, grouping.clean(key)), table=table)

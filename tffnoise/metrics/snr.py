"""Signal-to-noise ratio of a noise level, and choosing the level by it (paper 2, "The Paradox of Noise").

Paper 2 writes SNR = 10·log10(signal variance / noise variance) and describes it only as "the ratio of
validation accuracy variance to the difference in validation accuracy between noisy and clean
models". The exact definition used here (justified in docs/metrics.md):

    a_{0,r}  final accuracy of clean run r (pooled level-0 runs of the setup),  ā_0 their mean
    a_{i,r}  final accuracy of run r at noise level σ_i (same setup, mechanism, distribution)

    signal power  S   = ā_0²                                  (the clean accuracy the model delivers)
    noise power   N_i = (1/n_i) Σ_r (a_{i,r} − ā_0)²          (mean squared deviation from clean)
                      = (ā_i − ā_0)² + s_i²·(n_i − 1)/n_i     (systematic shift² + run-to-run spread)
    SNR_i [dB]    = 10·log10(S / N_i)

"Accuracy" is the final *validation* accuracy when every run involved (clean and noisy) has one,
otherwise the final *test* accuracy; the metric used is always returned with the value.

Applied to the clean runs themselves (i = 0) the same formula gives the *clean floor*
10·log10(ā_0² / ((n_0−1)/n_0 · s_0²)): the SNR the seed-to-seed variability alone allows. A level
whose SNR reaches the floor is indistinguishable from clean training.

Worked example: clean [0.80, 0.82, 0.78] → ā_0 = 0.80, S = 0.64; σ = 0.3 runs [0.76, 0.78, 0.74] →
deviations −0.04, −0.02, −0.06 → N = (0.0016 + 0.0004 + 0.0036)/3 = 0.0018667 → S/N = 342.86 →
SNR = 25.35 dB.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from tffnoise.reports import records as _rec


def snr_db(noisy: Iterable[float], clean: Iterable[float]) -> float:
    """SNR in dB of the noisy runs' accuracies against the clean runs' accuracies (see module doc).

    NaN when either sample is empty or the clean mean is 0; +inf when every noisy run equals the
    clean mean exactly (no disturbance at all)."""
    a = np.asarray([float(v) for v in noisy if v is not None], dtype=float)
    a = a[np.isfinite(a)]
    c = np.asarray([float(v) for v in clean if v is not None], dtype=float)
    c = c[np.isfinite(c)]
    if a.size == 0 or c.size == 0:
        return math.nan
    ref = float(c.mean())
    signal = ref ** 2
    noise = float(np.mean((a - ref) ** 2))
    if signal == 0:
        return math.nan
    if noise == 0:
        return math.inf
    return 10.0 * math.log10(signal / noise)


def clean_floor_db(clean: Iterable[float]) -> float:
    """SNR of the clean runs against their own mean: the ceiling set by seed variability alone.
    NaN with fewer than 2 finite values (no spread to measure)."""
    c = [float(v) for v in clean if v is not None and math.isfinite(float(v))]
    if len(c) < 2:
        return math.nan
    return snr_db(c, c)


def _candidates(records: list[dict], setup: str, mechanism: str, distribution: str | None):
    out = {}
    for key, runs in _rec.noisy_groups(records).items():
        if key.setup != setup or key.mechanism != mechanism:
            continue
        if distribution is not None and key.distribution != distribution:
            continue
        out[key] = runs
    return out


def snr_by_level(records: Iterable[dict], setup: str, mechanism: str, distribution: str | None = None,
                 *, metric: str | None = None) -> dict:
    """SNR of every noisy group of (setup, mechanism[, distribution]).

    Returns ``{"metric": "val_accuracy"|"test_accuracy", "clean_n", "clean_floor_db",
    "levels": [{"distribution", "level", "n", "snr_db"}, ...]}``. The metric is validation accuracy
    only when *every* run involved has it (clean reference included), so all levels are compared on
    the same footing."""
    records = list(records)
    clean = _rec.clean_runs(records, setup)
    cands = _candidates(records, setup, mechanism, distribution)
    if metric is None:
        involved = clean + [r for runs in cands.values() for r in runs]
        metric = _rec.choose_accuracy_metric(involved)
    clean_vals = _rec.metric_values(clean, metric)
    levels = []
    for key, runs in cands.items():
        vals = _rec.metric_values(runs, metric)
        levels.append(dict(distribution=key.distribution, level=key.level, n=len(vals),
                           snr_db=snr_db(vals, clean_vals)))
    return dict(metric=metric, clean_n=len(clean_vals), clean_floor_db=clean_floor_db(clean_vals), levels=levels)


class SelectedLevel(float):
    """The chosen noise level (a float) with how it was chosen.

    Attributes: ``metric`` (accuracy used for selection: "val_accuracy" or "test_accuracy"),
    ``snr_db``, ``distribution``, ``n``, ``test_accuracy`` (mean final test accuracy at the chosen
    level — what to report), ``clean_floor_db`` and ``table`` (every candidate)."""

    metric: str
    snr_db: float
    distribution: str
    n: int
    test_accuracy: float
    clean_floor_db: float
    table: list

    def __new__(cls, level: float, **info):
        obj = super().__new__(cls, level)
        for k, v in info.items():
            setattr(obj, k, v)
        return obj

    @property
    def level(self) -> float:
        return float(self)

    def describe(self) -> str:
        if math.isnan(self):
            return f"no level selectable ({self.metric})"
        dist = f"/{self.distribution}" if self.distribution else ""
        test = "" if math.isnan(self.test_accuracy) else f"; test accuracy there {self.test_accuracy:.4f}"
        warn = "" if self.metric == "val_accuracy" else " (no validation set: selected on test data, optimistic)"
        return f"σ={self.level:g}{dist}: SNR {self.snr_db:.2f} dB on {self.metric}{warn}{test}"

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return f"SelectedLevel({float(self)!r}, metric={self.metric!r}, snr_db={self.snr_db!r})"


def select_level(records: Iterable[dict], setup: str, mechanism: str, distribution: str | None = None) -> SelectedLevel:
    """The noise level (> 0) of (setup, mechanism[, distribution]) with the highest SNR.

    Selection uses validation accuracy when every run involved has it, else test accuracy (stated in
    ``.metric`` and ``.describe()``); the test accuracy at the chosen level is attached for reporting.
    Ties go to the smaller level. NaN (with ``.metric`` set) when no noisy group has a finite SNR.
    """
    records = list(records)
    info = snr_by_level(records, setup, mechanism, distribution)
    table = info["levels"]
    usable = [row for row in table if not math.isnan(row["snr_db"])]
    if not usable:
        return SelectedLevel(math.nan, metric=info["metric"], snr_db=math.nan, distribution="", n=0,
                             test_accuracy=math.nan, clean_floor_db=info["clean_floor_db"], table=table)
    best = sorted(usable, key=lambda row: (-row["snr_db"], row["level"], row["distribution"]))[0]
    key = _rec.GroupKey(setup, mechanism, best["distribution"], best["level"])
    runs = _rec.group_records(records).get(key, [])
    test_vals = _rec.metric_values(runs, "test_accuracy")
    return SelectedLevel(best["level"], metric=info["metric"], snr_db=best["snr_db"],
                         distribution=best["distribution"], n=best["n"],
                         test_accuracy=float(np.mean(test_vals)) if test_vals else math.nan,
                         clean_floor_db=info["clean_floor_db"], table=table)

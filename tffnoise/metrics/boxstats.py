"""Tukey box-plot statistics, identical to ``matplotlib.cbook.boxplot_stats(x, whis=1.5)``.

* box: Q1 and Q3 are the 25th / 75th percentiles with linear interpolation (numpy's default);
  the line is the median.
* whiskers: the fences are Q1 − 1.5·IQR and Q3 + 1.5·IQR; each whisker ends at the most extreme
  data point still inside its fence (never inside the box).
* outliers: every point beyond a whisker.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

WHIS = 1.5


def box_stats(values: Iterable[float], whis: float = WHIS) -> dict:
    """Box-plot statistics of ``values`` (NaN/None dropped).

    Returns ``dict(q1, median, q3, whisker_low, whisker_high, outliers, n, mean)``; with no finite
    value every statistic is NaN, ``outliers`` is empty and ``n`` is 0.
    """
    x = np.asarray([float(v) for v in values if v is not None], dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        nan = math.nan
        return dict(q1=nan, median=nan, q3=nan, whisker_low=nan, whisker_high=nan, outliers=[], n=0, mean=nan)
    q1, med, q3 = (float(v) for v in np.percentile(x, [25, 50, 75]))
    iqr = q3 - q1
    hi_fence = q3 + whis * iqr
    lo_fence = q1 - whis * iqr
    inside_hi = x[x <= hi_fence]
    whisker_high = float(inside_hi.max()) if inside_hi.size and inside_hi.max() >= q3 else q3
    inside_lo = x[x >= lo_fence]
    whisker_low = float(inside_lo.min()) if inside_lo.size and inside_lo.min() <= q1 else q1
    outliers = sorted(float(v) for v in x[(x < whisker_low) | (x > whisker_high)])
    return dict(q1=q1, median=med, q3=q3, whisker_low=whisker_low, whisker_high=whisker_high,
                outliers=outliers, n=n, mean=float(x.mean()))


def to_bxp(stats: dict, label: str = "") -> dict:
    """The dict ``matplotlib.axes.Axes.bxp`` expects, so figures draw exactly these statistics."""
    return dict(label=label, q1=stats["q1"], med=stats["median"], q3=stats["q3"], whislo=stats["whisker_low"],
                whishi=stats["whisker_high"], fliers=np.asarray(stats["outliers"], dtype=float), mean=stats["mean"])

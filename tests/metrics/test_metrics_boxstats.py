import math

import numpy as np
import pytest
from matplotlib import cbook

from tffnoise.metrics.boxstats import box_stats

DATASETS = [
    [0.71, 0.74, 0.75, 0.75, 0.76, 0.77, 0.78, 0.79, 0.80, 0.95],  # high outlier
    [0.20, 0.74, 0.75, 0.76, 0.76, 0.77, 0.78, 0.79, 0.80, 0.81],  # low outlier
    [0.5, 0.6, 0.7, 0.8],                                          # even n, no outliers
    [0.8, 0.8, 0.8, 0.8, 0.3],                                     # IQR 0, tie-heavy
    [0.42],
    [0.3, 0.9],
    list(np.random.default_rng(3).standard_t(2, size=37)),
]


@pytest.mark.parametrize("data", DATASETS)
def test_matches_matplotlib(data):
    ref = cbook.boxplot_stats(np.asarray(data), whis=1.5)[0]
    got = box_stats(data)
    assert got["q1"] == pytest.approx(ref["q1"])
    assert got["median"] == pytest.approx(ref["med"])
    assert got["q3"] == pytest.approx(ref["q3"])
    assert got["whisker_low"] == pytest.approx(ref["whislo"])
    assert got["whisker_high"] == pytest.approx(ref["whishi"])
    assert sorted(got["outliers"]) == pytest.approx(sorted(ref["fliers"]))
    assert got["mean"] == pytest.approx(ref["mean"])
    assert got["n"] == len(data)


def test_hand_values_and_nan_dropping():
    got = box_stats([1, 2, 3, 4, 100, None, float("nan")])
    # q1 = 2, median = 3, q3 = 4, IQR 2 → fences −1 and 7 → whiskers 1 and 4, outlier 100
    assert (got["q1"], got["median"], got["q3"]) == (2, 3, 4)
    assert (got["whisker_low"], got["whisker_high"]) == (1, 4)
    assert got["outliers"] == [100] and got["n"] == 5 and got["mean"] == 22


def test_empty():
    got = box_stats([])
    assert got["n"] == 0 and got["outliers"] == [] and math.isnan(got["median"])

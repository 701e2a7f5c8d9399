"""Statistics over run records: box plots, PoS/PoA, SNR, significance. No TensorFlow imports."""

from tffnoise.metrics.boxstats import box_stats
from tffnoise.metrics.significance import (bootstrap_ci, compare_to_clean, hedges_g, holm, mann_whitney,
                                           mean_ci_t, repeats_needed, welch_t)
from tffnoise.metrics.snr import (SelectedLevel, curve_snr_db, deviation_db, paired_difference, paired_snr,
                                  select_level, snr_by_level)
from tffnoise.metrics.stability import paired_ratios, price_of_anarchy, price_of_stability, stability_table

__all__ = [
    "box_stats", "bootstrap_ci", "compare_to_clean", "hedges_g", "holm", "mann_whitney", "mean_ci_t",
    "repeats_needed", "welch_t", "SelectedLevel", "curve_snr_db", "deviation_db", "paired_difference",
    "paired_snr", "select_level", "snr_by_level", "paired_ratios", "price_of_anarchy", "price_of_stability",
    "stability_table",
]

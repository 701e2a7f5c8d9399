"""Statistics over run records: box plots, PoS/PoA, SNR, significance. No TensorFlow imports.

Paper 2's SNR itself is `tffnoise.metrics.snr.snr` (not re-exported here: the name is its module's).
"""

from tffnoise.metrics.boxstats import box_stats
from tffnoise.metrics.significance import (bootstrap_ci, compare_to_clean, hedges_g, holm, mann_whitney,
                                           mean_ci_t, repeats_needed, welch_t)
from tffnoise.metrics.snr import (SelectedLevel, curve_snr_db, deviation_db, paired_difference,
                                  select_level, snr_by_level)
from tffnoise.metrics.stability import paired_ratios, price_of_anarchy, price_of_stability, stability_table

__all__ = [
    "box_stats", "bootstrap_ci", "compare_to_clean", "hedges_g", "holm", "mann_whitney", "mean_ci_t",
    "repeats_needed", "welch_t", "SelectedLevel", "curve_snr_db", "deviation_db", "paired_difference",
    "select_level", "snr_by_level", "paired_ratios", "price_of_anarchy", "price_of_stability",
    "stability_table",
]

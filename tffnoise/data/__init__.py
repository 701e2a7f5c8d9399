"""Datasets for federated noise-injection runs: real sources read from local files, synthetic stand-ins, partitions.

See docs/data.md for where each source's files are looked for and how to obtain them.
"""

from .dataset import Dataset
from .partition import PARTITION_SCHEMES, client_counts, label_histogram, partition
from .sources import SOURCES, data_dirs, load_dataset

__all__ = [
    "Dataset",
    "SOURCES",
    "PARTITION_SCHEMES",
    "load_dataset",
    "data_dirs",
    "partition",
    "client_counts",
    "label_histogram",
]

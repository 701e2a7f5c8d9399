"""scikit-learn's bundled 8x8 digits: real data that installs with the project, so the quick start needs no download."""

from __future__ import annotations

import numpy as np

from .dataset import Dataset

TEST_SIZE = 300
# Fixed, and independent of the run's seed, so the test set is the same across repeats and sweeps.
SPLIT_SEED = 0


def load(train_limit: int | None = None, test_limit: int | None = None) -> Dataset:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x = (bunch.data / 16.0).astype(np.float32)  # pixel intensities are 0..16
    y = bunch.target.astype(np.int32)
    ids = np.arange(len(y), dtype=np.int64)
    train_ids, test_ids = train_test_split(ids, test_size=TEST_SIZE, stratify=y, random_state=SPLIT_SEED)
    train_ids, test_ids = train_ids[:train_limit], test_ids[:test_limit]
    return Dataset(
        name="digits",
        x_train=x[train_ids],
        y_train=y[train_ids],
        x_test=x[test_ids],
        y_test=y[test_ids],
        num_classes=10,
        synthetic=False,
        train_ids=train_ids.astype(np.int64),
        test_ids=test_ids.astype(np.int64),
        source_paths=(),
        description=(
            f"digits (scikit-learn load_digits, 8x8 flattened to 64 features), "
            f"{len(train_ids)} train / {len(test_ids)} test examples"
        ),
    )

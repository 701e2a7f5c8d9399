"""The one in-memory shape every data source is turned into, so training code never branches on the source."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


# eq=False: numpy arrays make field-wise equality ambiguous and hashing impossible; identity is what callers need.
@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test split with the provenance needed to label outputs honestly.

    `synthetic` is carried so every output of a run on a generated stand-in can say SYNTHETIC;
    `train_ids`/`test_ids` are each example's stable position in its source (row of the file, index in
    the archive), so membership-inference results can be traced back to real examples.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    synthetic: bool
    train_ids: np.ndarray
    test_ids: np.ndarray
    source_paths: tuple[str, ...]
    description: str

    def __post_init__(self):
        # A loader bug caught here is cheaper than a silent dtype or length mismatch deep in training.
        for split in ("train", "test"):
            x, y, ids = getattr(self, f"x_{split}"), getattr(self, f"y_{split}"), getattr(self, f"{split}_ids")
            if x.dtype != np.float32 or y.dtype != np.int32 or ids.dtype != np.int64:
                raise ValueError(f"{self.name} {split}: dtypes {x.dtype}/{y.dtype}/{ids.dtype}, want float32/int32/int64")
            if not (len(x) == len(y) == len(ids)) or y.ndim != 1 or ids.ndim != 1:
                raise ValueError(f"{self.name} {split}: lengths {len(x)}/{len(y)}/{len(ids)} differ")
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(f"{self.name}: train shape {self.x_train.shape} and test shape {self.x_test.shape} differ")
        if "\n" in self.description:
            raise ValueError(f"{self.name}: description must be one line")

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Per-example shape, what a model's input layer needs."""
        return tuple(self.x_train.shape[1:])


def from_files(name: str, train: tuple, test: tuple, num_classes: int, paths: tuple, description: str) -> Dataset:
    """A real dataset read from files: each example's id is its position in the file (or archive)."""
    (x_train, y_train), (x_test, y_test) = train, test
    return Dataset(name=name, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
                   num_classes=num_classes, synthetic=False,
                   train_ids=np.arange(len(y_train), dtype=np.int64), test_ids=np.arange(len(y_test), dtype=np.int64),
                   source_paths=tuple(paths), description=description)

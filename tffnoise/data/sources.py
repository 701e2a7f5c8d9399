"""The one entry point from a config's `data` section to a Dataset: checks the request, picks the loader, finds files."""

from __future__ import annotations

import numbers
import os
from pathlib import Path

from ..errors import ConfigError
from . import cifar10, digits, idx, susy
from . import synthetic as synthetic_data  # the keyword argument `synthetic` would shadow the module
from .dataset import Dataset

SOURCES = ("digits", "mnist", "fashion-mnist", "cifar10", "susy")
DATA_DIR_ENV = "TFFNOISE_DATA_DIR"
HOME_DATA_DIR = "~/.tffnoise/data"

# source -> load(source, path, data_dirs, train_limit, test_limit); each loader also searches its own system places.
FILE_LOADERS = {"mnist": idx.load, "fashion-mnist": idx.load, "cifar10": cifar10.load, "susy": susy.load}


def load_dataset(
    source: str,
    path: str | None = None,
    *,
    synthetic: bool = False,
    train_limit: int | None = None,
    test_limit: int | None = None,
    seed: int = 0,
) -> Dataset:
    """Load a real source, or its generated stand-in when `synthetic` is asked for; never one in place of the other.

    `train_limit`/`test_limit` cap how many examples are read (a prefix of each split, in file order); for a
    synthetic stand-in they are its sizes. `seed` only affects synthetic data: real splits are fixed.
    """
    if source not in SOURCES:
        raise ConfigError("data.source", source, f"one of {', '.join(SOURCES)}")
    train_limit = _check_count("data.train_limit", train_limit)
    test_limit = _check_count("data.test_limit", test_limit)
    if synthetic:
        if source == "digits":
            raise ConfigError("data.synthetic", True, "false for digits (real data bundled with scikit-learn)")
        if path is not None:
            raise ConfigError("data.path", path, "unset when data.synthetic is true (synthetic data reads no file)")
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ConfigError("data.seed", seed, "a non-negative integer")
        return synthetic_data.make(source, train_limit, test_limit, int(seed))
    if source == "digits":
        if path is not None:
            raise ConfigError("data.path", path, "unset for digits (it is bundled with scikit-learn)")
        return digits.load(train_limit, test_limit)
    where = None if path is None else Path(os.path.expanduser(str(path)))
    return FILE_LOADERS[source](source, where, data_dirs(), train_limit, test_limit)



def data_dirs() -> list[Path]:
    """Where files are looked for when no path is given, in order: $TFFNOISE_DATA_DIR, then ~/.tffnoise/data."""
    dirs = []
    if os.environ.get(DATA_DIR_ENV):
        dirs.append(Path(os.environ[DATA_DIR_ENV]).expanduser())
    dirs.append(Path(HOME_DATA_DIR).expanduser())
    return dirs


def _check_count(field: str, value) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ConfigError(field, value, "a positive integer, or unset for no limit")
    return int(value)

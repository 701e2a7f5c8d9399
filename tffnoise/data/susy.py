"""UCI SUSY (5M rows of 18 physics features) read as a stream, so a capped run never holds the whole file.

Rows are taken in file order: train is the first `train_limit` rows and test the `test_limit` rows right after them.
With no limits this is exactly the UCI convention (the last 500,000 rows are the test set); with limits it is a
prefix of the file, because finding the last rows of a gzipped file means decompressing all of it.
"""

from __future__ import annotations

import gzip
import warnings
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataNotFoundError, UserError
from .dataset import Dataset

NAMES = ("SUSY.csv.gz", "SUSY.csv")
FEATURES = 18
UCI_TEST_ROWS = 500_000
CHUNK_ROWS = 65_536
HOW_TO_GET = (
    "get SUSY.csv.gz from the UCI Machine Learning Repository's SUSY page and put it in $TFFNOISE_DATA_DIR "
    "or pass data.path (see docs/data.md)"
)


def load(source: str, path: Path | None, data_dirs: list[Path], train_limit=None, test_limit=None) -> Dataset:
    location = find(path, data_dirs)
    test_rows = UCI_TEST_ROWS if test_limit is None else test_limit
    if train_limit is None:
        # Train is "everything before the last test_rows rows", which needs the whole file anyway.
        rows = read_rows(location)
        n_train = len(rows) - test_rows
        if n_train <= 0:
            raise UserError(
                f"{location}: only {len(rows)} rows, not enough for data.test_limit={test_rows} test rows plus training rows"
            )
        train, test = rows[:n_train], rows[n_train:]
    else:
        rows = read_rows(location, limit=train_limit + test_rows)
        train, test = rows[:train_limit], rows[train_limit:]
        if len(test) == 0:
            raise UserError(
                f"{location}: only {len(rows)} rows, none left for testing after data.train_limit={train_limit}"
            )
    n_train = len(train)
    return Dataset(
        name="susy",
        x_train=np.ascontiguousarray(train[:, 1:]),
        y_train=train[:, 0].astype(np.int32),
        x_test=np.ascontiguousarray(test[:, 1:]),
        y_test=test[:, 0].astype(np.int32),
        num_classes=2,
        synthetic=False,
        train_ids=np.arange(n_train, dtype=np.int64),
        test_ids=np.arange(n_train, n_train + len(test), dtype=np.int64),
        source_paths=(str(location),),
        description=f"SUSY (UCI CSV {location}), {n_train} train / {len(test)} test rows",
    )


def find(path: Path | None, data_dirs: list[Path]) -> Path:
    if path is not None:
        if path.is_file():
            return path
        if not path.exists():
            raise DataNotFoundError(f"susy: data.path {path} does not exist; {HOW_TO_GET}")
        folders = [path, path / "susy"]
    else:
        folders = [f for d in data_dirs for f in (d, d / "susy")]
    tried = []
    for folder in folders:
        for name in NAMES:
            if (folder / name).is_file():
                return folder / name
            tried.append(str(folder / name))
    raise DataNotFoundError(f"susy: SUSY.csv(.gz) not found; tried {', '.join(tried)}; {HOW_TO_GET}")


def read_rows(path: Path, limit: int | None = None) -> np.ndarray:
    """The first `limit` rows as float32 (N, 19), label first; reading stops once they are parsed."""
    chunks, total = [], 0
    try:
        with _open(path) as f:
            lines: list[str] = []
            first_line = 1
            for line in f:
                if not line.strip():
                    continue
                lines.append(line)
                if limit is not None and total + len(lines) >= limit:
                    break
                if len(lines) == CHUNK_ROWS:
                    chunks.append(_parse(lines, path, first_line))
                    total += len(lines)
                    first_line += len(lines)
                    lines = []
            if lines:
                chunks.append(_parse(lines, path, first_line))
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read as SUSY CSV ({type(exc).__name__}: {exc})") from None
    rows = np.concatenate(chunks) if chunks else np.zeros((0, FEATURES + 1), np.float32)
    return rows


def _parse(lines: list[str], path: Path, first_line: int) -> np.ndarray:
    """Parse a block of lines at C speed; fall back to line by line only to name the bad line."""
    with warnings.catch_warnings():  # numpy warns (and may one day raise) on text it cannot parse; checked below
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            values = np.fromstring(",".join(line.strip() for line in lines), dtype=np.float64, sep=",")
        except ValueError:
            values = np.zeros(0)
    if values.size != len(lines) * (FEATURES + 1):
        for offset, line in enumerate(lines):
            fields = line.strip().split(",")
            try:
                if len(fields) != FEATURES + 1:
                    raise ValueError
                [float(v) for v in fields]
            except ValueError:
                raise UserError(
                    f"{path}: line {first_line + offset} has {len(fields)} fields {line.strip()[:60]!r}; "
                    f"expected {FEATURES + 1} numbers (label, then {FEATURES} features)"
                ) from None
        raise UserError(f"{path}: lines {first_line}..{first_line + len(lines) - 1} do not parse as numbers")
    rows = values.reshape(len(lines), FEATURES + 1)
    bad = np.flatnonzero((rows[:, 0] != 0.0) & (rows[:, 0] != 1.0))
    if bad.size:
        raise UserError(f"{path}: line {first_line + bad[0]} has label {rows[bad[0], 0]!r}; expected 0 or 1")
    with np.errstate(over="ignore"):  # beyond float32 becomes inf, refused next
        rows32 = rows.astype(np.float32)
    bad_row, bad_col = np.nonzero(~np.isfinite(rows32))  # nan, inf, or beyond float32 (1e39)
    if bad_row.size:
        r, c = bad_row[0], bad_col[0]
        raise UserError(f"{path}: line {first_line + r} has feature {c} of {FEATURES} = {rows[r, c]!r}; "
                        "features must be finite numbers (within float32)")
    return rows32


def _open(path: Path):
    """Gzip is recognised by content, not by name, so a renamed file still reads."""
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt", encoding="ascii") if gzipped else open(path, "r", encoding="ascii")

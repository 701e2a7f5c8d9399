"""MNIST and Fashion-MNIST from the original IDX files (raw or gzipped), the format both projects publish."""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataNotFoundError, UserError
from .dataset import Dataset, from_files

IMAGES, LABELS = "images", "labels"
# (split, kind) -> file name; each may also end in .gz.
FILES = {
    ("train", IMAGES): "train-images-idx3-ubyte",
    ("train", LABELS): "train-labels-idx1-ubyte",
    ("test", IMAGES): "t10k-images-idx3-ubyte",
    ("test", LABELS): "t10k-labels-idx1-ubyte",
}
TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
# Places a system may already hold the files. Debian's dataset-fashion-mnist package installs the four .gz files
# in /usr/share/datasets/fashion-mnist/; Keras' fashion_mnist.load_data() caches the same four .gz files.
SYSTEM_DIRS = {
    "mnist": [],
    "fashion-mnist": ["/usr/share/datasets/fashion-mnist", "~/.keras/datasets/fashion-mnist"],
}
HOW_TO_GET = {
    "mnist": "get the four IDX files from Yann LeCun's MNIST database page (or a mirror)",
    "fashion-mnist": (
        "get the four IDX files from Zalando Research's Fashion-MNIST GitHub page, "
        "or install Debian's dataset-fashion-mnist package"
    ),
}
_ALL_NAMES = "{" + ",".join(FILES.values()) + "}[.gz]"
CHUNK_BYTES = 1 << 24  # a gzipped file is read this much at a time: its header's count is never trusted for one allocation


def _spellings(name: str) -> tuple[str, str]:
    """LeCun's page names the files `train-images-idx3-ubyte`; many mirrors and archives `train-images.idx3-ubyte`."""
    return name, name.replace("-idx", ".idx", 1)


def load(source: str, path: Path | None, data_dirs: list[Path], train_limit=None, test_limit=None) -> Dataset:
    files = find(source, path, data_dirs)
    xtr, ytr = _read_split(files, "train", train_limit)
    xte, yte = _read_split(files, "test", test_limit)
    folder = files[("train", IMAGES)].parent
    return from_files(source, (xtr, ytr), (xte, yte), 10, tuple(str(files[key]) for key in FILES),
                      f"{TITLES[source]} (IDX files in {folder}), {len(ytr)} train / {len(yte)} test images")


def find(source: str, path: Path | None, data_dirs: list[Path]) -> dict[tuple[str, str], Path]:
    """The four files, all from one folder so MNIST and Fashion-MNIST files (same names) are never mixed."""
    if path is not None:
        if path.is_file():
            folders = [path.parent]  # the user pointed at one of the four files
        elif path.is_dir():
            folders = [path, path / source]
        else:
            raise DataNotFoundError(f"{source}: data.path {path} does not exist; {HOW_TO_GET[source]}")
    else:
        # Only the <dir>/<source>/ subfolder: the bare data dir could hold either dataset under the same names.
        folders = [d / source for d in data_dirs] + [Path(p).expanduser() for p in SYSTEM_DIRS[source]]
    tried = []
    for folder in folders:
        found = {key: _existing(folder, name) for key, name in FILES.items()}
        if all(found.values()):
            return found
        missing = [FILES[key] + "[.gz]" for key, p in found.items() if p is None]
        tried.append(f"{folder}/{_ALL_NAMES}" if len(missing) == len(FILES) else f"{folder} (missing {', '.join(missing)})")
    raise DataNotFoundError(
        f"{source}: IDX files not found; tried {'; '.join(tried)}; {HOW_TO_GET[source]} and put them in "
        f"$TFFNOISE_DATA_DIR/{source}/ or pass data.path (see docs/data.md)"
    )


def _existing(folder: Path, name: str) -> Path | None:
    for spelling in _spellings(name):
        for candidate in (folder / spelling, folder / (spelling + ".gz")):
            if candidate.is_file():
                return candidate
    return None


def _read_split(files, split: str, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    images_path, labels_path = files[(split, IMAGES)], files[(split, LABELS)]
    images, n_images = read_idx(images_path, ndim=3, item_shape=(28, 28), limit=limit)
    labels, n_labels = read_idx(labels_path, ndim=1, item_shape=(), limit=limit)
    if n_images != n_labels:
        raise UserError(f"{images_path}: holds {n_images} images but {labels_path} holds {n_labels} labels; they must match")
    if labels.size and labels.max() > 9:
        raise UserError(f"{labels_path}: label {int(labels.max())} found; labels must be 0..9")
    x = (images.astype(np.float32) / 255.0).reshape(-1, 28, 28, 1)
    return x, labels.astype(np.int32)


def read_idx(path: Path, ndim: int, item_shape: tuple[int, ...], limit: int | None = None) -> tuple[np.ndarray, int]:
    """The first `limit` items of an unsigned-byte IDX file and the count its header declares.

    Only the needed bytes are read, so a limit keeps a gzipped file from being decompressed whole.
    """
    try:
        gzipped = _is_gzip(path)
        with (gzip.open(path, "rb") if gzipped else open(path, "rb")) as f:
            header = f.read(4 + 4 * ndim)
            expected_magic = bytes((0, 0, 0x08, ndim))
            if header[:4] != expected_magic:
                raise UserError(
                    f"{path}: bad IDX magic number {header[:4].hex() or '(empty file)'}; expected {expected_magic.hex()} "
                    f"(unsigned bytes, {ndim} dimensions)"
                )
            if len(header) < 4 + 4 * ndim:
                raise UserError(f"{path}: IDX header is truncated ({len(header)} bytes)")
            dims = struct.unpack(f">{ndim}I", header[4:])
            count, shape = dims[0], tuple(dims[1:])
            if shape != item_shape:
                raise UserError(f"{path}: items are {shape}; expected {item_shape}")
            wanted = count if limit is None else min(count, limit)
            item_size = int(np.prod(item_shape, dtype=np.int64))
            if not gzipped:  # the header is checked against the file before anything is allocated
                have = path.stat().st_size - len(header)
                if count * item_size > have:
                    raise UserError(f"{path}: truncated or a bad header; it declares {count} items of {item_size} bytes "
                                    f"but holds {have} bytes after its header ({have // item_size} items)")
            data = _read_chunked(f, wanted * item_size)
            if len(data) < wanted * item_size:
                raise UserError(
                    f"{path}: truncated; header says {count} items but the data ends after {len(data) // item_size}"
                )
            if wanted == count and f.read(1):
                raise UserError(f"{path}: extra bytes after the {count} items its header declares")
    except (OSError, EOFError, zlib.error) as exc:
        raise UserError(f"{path}: cannot read as IDX ({type(exc).__name__}: {exc})") from None
    return np.frombuffer(data, dtype=np.uint8).reshape((wanted, *item_shape)), count


def _read_chunked(f, n: int) -> bytes:
    """Up to n bytes, in CHUNK_BYTES pieces: memory grows with what the file holds, not with what it claims."""
    parts, got = [], 0
    while got < n:
        chunk = f.read(min(CHUNK_BYTES, n - got))
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _is_gzip(path: Path) -> bool:
    """Gzip is recognised by content, not by name, so a renamed file still reads."""
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"

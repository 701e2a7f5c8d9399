"""CIFAR-10 from the Toronto archives or their extracted folders, read in place (nothing is extracted to disk).

The binary version is preferred because it needs no pickle; the python version is read with an unpickler that can
only rebuild numpy arrays (see `NumpyOnlyUnpickler`), so a tampered file cannot run code.
"""

from __future__ import annotations

import io
import pickle
import tarfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataNotFoundError, UserError
from .dataset import Dataset, from_files

BINARY, PYTHON = "binary", "python"
# Looked for in this order inside each folder searched; binary first because it needs no unpickling.
CANDIDATES = ("cifar-10-binary.tar.gz", "cifar-10-batches-bin", "cifar-10-python.tar.gz", "cifar-10-batches-py")
BATCHES = {
    BINARY: ([f"data_batch_{i}.bin" for i in range(1, 6)], ["test_batch.bin"]),
    PYTHON: ([f"data_batch_{i}" for i in range(1, 6)], ["test_batch"]),
}
RECORD = 1 + 3 * 32 * 32  # binary: one label byte, then the image as 3 planes (R, G, B) of 32x32
# Keras' cifar10.load_data() leaves the extracted python version here.
SYSTEM_DIRS = ["~/.keras/datasets"]
HOW_TO_GET = (
    "get cifar-10-binary.tar.gz (or cifar-10-python.tar.gz) from Alex Krizhevsky's CIFAR page at the University "
    "of Toronto and put it in $TFFNOISE_DATA_DIR or pass data.path; no need to extract it (see docs/data.md)"
)


def load(source: str, path: Path | None, data_dirs: list[Path], train_limit=None, test_limit=None) -> Dataset:
    location = find(path, data_dirs)
    with _open_store(location) as store:
        fmt = _format(store, location)
        train_names, test_names = BATCHES[fmt]
        missing = [n for n in train_names + test_names if n not in store.sizes]
        if missing:
            raise UserError(f"{location}: not a complete CIFAR-10 {fmt} version; missing {', '.join(missing)}")
        read = _read_binary if fmt == BINARY else _read_python
        x_train, y_train = read(store, train_names, train_limit)
        x_test, y_test = read(store, test_names, test_limit)
        paths = (str(location),) if store.is_archive else tuple(str(location / n) for n in store.read_names)
    return from_files("cifar10", (x_train, y_train), (x_test, y_test), 10, paths,
                      f"CIFAR-10 ({fmt} version, {location}), {len(y_train)} train / {len(y_test)} test images")


def find(path: Path | None, data_dirs: list[Path]) -> Path:
    if path is not None:
        if path.is_file() or (path.is_dir() and _looks_like_batches(path)):
            return path
        if not path.exists():
            raise DataNotFoundError(f"cifar10: data.path {path} does not exist; {HOW_TO_GET}")
        folders = [path, path / "cifar10"]
    else:
        folders = [f for d in data_dirs for f in (d, d / "cifar10")] + [Path(p).expanduser() for p in SYSTEM_DIRS]
    tried = []
    for folder in folders:
        for name in CANDIDATES:
            candidate = folder / name
            if candidate.exists():
                return candidate
            tried.append(str(candidate))
    raise DataNotFoundError(f"cifar10: no CIFAR-10 archive or folder found; tried {', '.join(tried)}; {HOW_TO_GET}")


def _looks_like_batches(folder: Path) -> bool:
    return (folder / "data_batch_1.bin").is_file() or (folder / "data_batch_1").is_file()


def _format(store, location: Path) -> str:
    if "data_batch_1.bin" in store.sizes:
        return BINARY
    if "data_batch_1" in store.sizes:
        return PYTHON
    raise UserError(f"{location}: not a CIFAR-10 archive or folder (no data_batch_1.bin or data_batch_1 inside)")


def _read_binary(store, names: list[str], limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    want, counts = {}, []
    remaining = limit
    for name in names:
        size = store.sizes[name]
        if size == 0:
            raise UserError(f"{store.where(name)}: empty; a CIFAR-10 batch holds {RECORD}-byte records")
        if size % RECORD:
            raise UserError(f"{store.where(name)}: size {size} is not a multiple of the {RECORD}-byte record")
        n = size // RECORD if remaining is None else min(size // RECORD, remaining)
        if n:
            want[name] = n * RECORD
            counts.append((name, n))
        if remaining is not None:
            remaining -= n
    blobs = store.read(want)
    parts = []
    for name, n in counts:
        batch = np.frombuffer(blobs[name], dtype=np.uint8).reshape(n, RECORD)
        bad = np.flatnonzero(batch[:, 0] > 9)
        if bad.size:
            raise UserError(f"{store.where(name)}: record {int(bad[0])} has label {int(batch[bad[0], 0])}; "
                            "CIFAR-10 labels must be 0..9")
        parts.append(batch)
    records = np.concatenate(parts or [np.zeros((0, RECORD), np.uint8)])
    labels = records[:, 0]
    return _images(records[:, 1:]), labels.astype(np.int32)


def _read_python(store, names: list[str], limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    remaining = limit
    for name in names:
        if remaining is not None and remaining <= 0:
            break
        blob = store.read({name: None})[name]
        data, batch_labels = _unpickle_batch(blob, store.where(name))
        if not len(data):
            raise UserError(f"{store.where(name)}: an empty batch (no images)")
        images.append(data[:remaining])
        labels.append(batch_labels[:remaining])
        if remaining is not None:
            remaining -= len(images[-1])
    x = np.concatenate(images) if images else np.zeros((0, RECORD - 1), np.uint8)
    y = np.concatenate(labels) if labels else np.zeros(0, np.int64)
    return _images(x), y.astype(np.int32)


def _images(flat: np.ndarray) -> np.ndarray:
    """(N, 3072) channel-major bytes to (N, 32, 32, 3) float32 in [0, 1]."""
    chw = flat.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(chw, dtype=np.float32) / np.float32(255.0)


# The only globals a CIFAR-10 python batch needs: what numpy's ndarray.__reduce__ names. Looking the rebuild function
# up through __reduce__ keeps this right whichever numpy module holds it.
_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(0))[0]
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler whose only reachable callables rebuild plain numpy arrays.

    Pickle runs code only through the globals it looks up; refusing every global but these three means a crafted
    file can at worst build an array, never call os.system, eval, or import anything.
    """

    def find_class(self, module, name):
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused global {module}.{name}") from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("refused persistent id")


def _unpickle_batch(blob: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        # encoding="bytes": the files were written by Python 2, whose str keys and array bytes must stay bytes.
        batch = NumpyOnlyUnpickler(io.BytesIO(blob), encoding="bytes").load()
    except Exception as exc:  # any failure to parse an untrusted file is the file's fault, not a bug here
        raise UserError(f"{where}: not a safe CIFAR-10 python batch ({type(exc).__name__}: {exc})") from None
    if not isinstance(batch, dict):
        raise UserError(f"{where}: not a CIFAR-10 python batch (a {type(batch).__name__}, expected a dict)")
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != RECORD - 1:
        raise UserError(f"{where}: 'data' must be a uint8 array of shape (N, {RECORD - 1})")
    try:
        labels = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError):
        raise UserError(f"{where}: 'labels' must be a list of integers") from None
    if labels.shape != (len(data),) or (labels.size and (labels.min() < 0 or labels.max() > 9)):
        raise UserError(f"{where}: 'labels' must be {len(data)} integers in 0..9")
    return data, labels


def _open_store(location: Path):
    if location.is_dir():
        return _Folder(location)
    try:
        return _Archive(location)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise UserError(f"{location}: cannot read as a tar archive ({type(exc).__name__}: {exc})") from None


class _Folder:
    """The extracted batches-bin or batches-py folder."""

    is_archive = False

    def __init__(self, location: Path):
        self.location = location
        self.sizes = {p.name: p.stat().st_size for p in location.iterdir() if p.is_file()}
        self.read_names: list[str] = []

    def where(self, name: str) -> str:
        return str(self.location / name)

    def read(self, want: dict[str, int | None]) -> dict[str, bytes]:
        out = {}
        for name, nbytes in want.items():
            with open(self.location / name, "rb") as f:
                out[name] = f.read() if nbytes is None else f.read(nbytes)
            self.read_names.append(name)
        return out

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _Archive:
    """A .tar.gz (or plain .tar) read member by member in memory; the members' folder name inside does not matter."""

    is_archive = True

    def __init__(self, location: Path):
        self.location = location
        self.tar = tarfile.open(location, "r:*")
        self.members = {m.name.rsplit("/", 1)[-1]: m for m in self.tar.getmembers() if m.isfile()}
        self.sizes = {name: m.size for name, m in self.members.items()}

    def where(self, name: str) -> str:
        return f"{self.location}:{self.members[name].name}"

    def read(self, want: dict[str, int | None]) -> dict[str, bytes]:
        out = {}
        # In archive order: a gzip stream only seeks forward cheaply.
        for name in sorted(want, key=lambda n: self.members[n].offset_data):
            try:
                f = self.tar.extractfile(self.members[name])
                out[name] = f.read() if want[name] is None else f.read(want[name])
            except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
                raise UserError(f"{self.where(name)}: cannot read ({type(exc).__name__}: {exc})") from None
        return out

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.tar.close()
        return False

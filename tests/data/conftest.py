"""Writers for tiny files in each source's real on-disk format, so loaders are tested without shipping binary data."""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest

from tffnoise.data import cifar10, idx

IDX_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


@pytest.fixture(autouse=True)
def isolated_search(tmp_path, monkeypatch):
    """No real data dir, home or system folder can leak into a test: each points inside tmp_path."""
    monkeypatch.delenv("TFFNOISE_DATA_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(idx, "SYSTEM_DIRS", {"mnist": [], "fashion-mnist": [str(tmp_path / "system" / "fashion-mnist")]})
    monkeypatch.setattr(cifar10, "SYSTEM_DIRS", [str(tmp_path / "system" / "keras")])


def write_idx(path: Path, array: np.ndarray, *, gz: bool = False, magic: bytes | None = None) -> Path:
    header = magic if magic is not None else bytes((0, 0, 0x08, array.ndim))
    header += struct.pack(f">{array.ndim}I", *array.shape)
    blob = header + array.astype(np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        blob = gzip.compress(blob)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(blob)
    return path


def make_images(n: int, shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, *shape), dtype=np.uint8)


@pytest.fixture
def idx_files():
    """write(folder, gz=False, n_train=12, n_test=5) -> dict of the uint8 arrays written."""

    def write(folder: Path, *, gz: bool = False, n_train: int = 12, n_test: int = 5) -> dict[str, np.ndarray]:
        arrays = {
            "train_images": make_images(n_train, (28, 28), 1),
            "train_labels": np.arange(n_train) % 10,
            "test_images": make_images(n_test, (28, 28), 2),
            "test_labels": (np.arange(n_test) * 3) % 10,
        }
        for key, array in arrays.items():
            write_idx(folder / IDX_NAMES[key], array, gz=gz)
        return arrays

    return write


def cifar_batches(n_per_train_batch: int = 3, n_test: int = 4) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name -> (uint8 (N, 3072) channel-major images, labels) for the 5 train batches and the test batch."""
    batches = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        n = n_test if name == "test_batch" else n_per_train_batch
        batches[name] = (make_images(n, (3072,), 10 + i), (np.arange(n) + i) % 10)
    return batches


def _binary_blob(images: np.ndarray, labels: np.ndarray) -> bytes:
    return np.concatenate([labels.astype(np.uint8)[:, None], images], axis=1).tobytes()


class Py2Pickler(pickle._Pickler):
    """Writes str and bytes as Python 2 byte strings (BINSTRING), as the cPickle that wrote CIFAR-10 did.

    Python 3's own protocol 2 wraps bytes in a _codecs.encode call, which the real files never contain.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj):
        raw = obj.encode("latin-1") if isinstance(obj, str) else obj
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        self.memoize(obj)

    dispatch[str] = save_py2_str
    dispatch[bytes] = save_py2_str


def py2_pickle(obj) -> bytes:
    out = io.BytesIO()
    Py2Pickler(out, protocol=2).dump(obj)
    return out.getvalue()


def _python_blob(images: np.ndarray, labels: np.ndarray) -> bytes:
    batch = {"batch_label": "testing batch", "labels": [int(v) for v in labels], "data": images, "filenames": []}
    return py2_pickle(batch)


def cifar_members(fmt: str, batches) -> dict[str, bytes]:
    """The folder's file name -> content for the binary or python version."""
    if fmt == "binary":
        return {f"{name}.bin": _binary_blob(*batches[name]) for name in batches} | {"batches.meta.txt": b"airplane\n"}
    return {name: _python_blob(*batches[name]) for name in batches} | {"readme.html": b"<html></html>"}


def write_cifar_folder(parent: Path, fmt: str, batches) -> Path:
    folder = parent / ("cifar-10-batches-bin" if fmt == "binary" else "cifar-10-batches-py")
    folder.mkdir(parents=True, exist_ok=True)
    for name, blob in cifar_members(fmt, batches).items():
        (folder / name).write_bytes(blob)
    return folder


def write_cifar_archive(parent: Path, fmt: str, batches, members: dict[str, bytes] | None = None) -> Path:
    inner = "cifar-10-batches-bin" if fmt == "binary" else "cifar-10-batches-py"
    archive = parent / ("cifar-10-binary.tar.gz" if fmt == "binary" else "cifar-10-python.tar.gz")
    parent.mkdir(parents=True, exist_ok=True)
    # Members deliberately out of name order, as the real archives are not sorted either.
    contents = members if members is not None else cifar_members(fmt, batches)
    with tarfile.open(archive, "w:gz") as tar:
        for name in sorted(contents, reverse=True):
            info = tarfile.TarInfo(f"{inner}/{name}")
            info.size = len(contents[name])
            tar.addfile(info, io.BytesIO(contents[name]))
    return archive


def susy_rows(n: int, seed: int = 0) -> np.ndarray:
    """(n, 19) float64: label in column 0, then 18 features with a few decimals so float32 round-trips are exact."""
    rng = np.random.default_rng(seed)
    rows = np.round(rng.normal(size=(n, 19)), 3)
    rows[:, 0] = rng.integers(0, 2, size=n)
    return rows


def write_susy(path: Path, rows: np.ndarray, *, gz: bool = False) -> Path:
    text = "".join(",".join(f"{v:.18e}" for v in row) + "\n" for row in rows).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(text) if gz else text)
    return path


@pytest.fixture
def susy_file():
    """write(path, n, gz=False) -> the rows written."""

    def write(path: Path, n: int, *, gz: bool = False, seed: int = 0) -> np.ndarray:
        rows = susy_rows(n, seed)
        write_susy(path, rows, gz=gz)
        return rows

    return write


class Formats:
    """The writers above, handed to tests as the `formats` fixture (importing conftest by name is fragile)."""

    IDX_NAMES = IDX_NAMES
    write_idx = staticmethod(write_idx)
    cifar_batches = staticmethod(cifar_batches)
    cifar_members = staticmethod(cifar_members)
    write_cifar_folder = staticmethod(write_cifar_folder)
    write_cifar_archive = staticmethod(write_cifar_archive)
    py2_pickle = staticmethod(py2_pickle)
    susy_rows = staticmethod(susy_rows)
    write_susy = staticmethod(write_susy)


@pytest.fixture
def formats():
    return Formats

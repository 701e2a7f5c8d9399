"""Item 3 of issue 18: damaged data files are refused with the file (and line) named, never trusted for an
allocation; MNIST files are found under both naming styles. Every file here is generated."""
import gzip
import struct

import numpy as np
import pytest

from tffnoise.data import idx, load_dataset
from tffnoise.errors import UserError

HUGE = 2**32 - 1  # the largest count an IDX header can declare: 3.4 TB of 28 × 28 images


def _huge_header(path, gz):
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = bytes((0, 0, 8, 3)) + struct.pack(">3I", HUGE, 28, 28) + bytes(784 * 10)
    path.write_bytes(gzip.compress(blob) if gz else blob)


def test_a_huge_plain_idx_header_is_checked_against_the_file_size(tmp_path, idx_files):
    idx_files(tmp_path)
    p = tmp_path / "train-images-idx3-ubyte"
    _huge_header(p, gz=False)
    with pytest.raises(UserError, match=f"{p}: truncated or a bad header; it declares {HUGE} items of 784 bytes but "
                                        "holds 7840 bytes after its header \\(10 items\\)"):
        load_dataset("mnist", str(tmp_path))


def test_a_huge_gzipped_idx_header_is_read_in_chunks(tmp_path, idx_files, monkeypatch):
    idx_files(tmp_path, gz=True)
    p = tmp_path / "train-images-idx3-ubyte.gz"
    _huge_header(p, gz=True)
    reads = []
    real = idx._read_chunked

    def spy(f, n):
        reads.append(n)
        return real(f, n)

    monkeypatch.setattr(idx, "_read_chunked", spy)
    monkeypatch.setattr(idx, "CHUNK_BYTES", 1000)
    with pytest.raises(UserError, match=f"{p}: truncated; header says {HUGE} items but the data ends after 10"):
        load_dataset("mnist", str(tmp_path))
    assert reads == [HUGE * 784]  # asked for what the header claims, got what the file holds, 1000 bytes at a time


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_files_are_found_under_both_naming_styles(tmp_path, idx_files, gz):
    arrays = idx_files(tmp_path / "dashes", gz=gz)
    (tmp_path / "dots").mkdir()
    for f in (tmp_path / "dashes").iterdir():
        f.rename(tmp_path / "dots" / f.name.replace("-idx", ".idx"))
    d = load_dataset("mnist", str(tmp_path / "dots"))
    np.testing.assert_array_equal(d.y_train, arrays["train_labels"])
    assert all(".idx" in p for p in d.source_paths)


@pytest.mark.parametrize("fmt", ["binary", "python"])
@pytest.mark.parametrize("batch", ["data_batch_3", "test_batch"])
def test_an_empty_cifar_batch_is_an_error_naming_it(tmp_path, formats, fmt, batch):
    folder = formats.write_cifar_folder(tmp_path, fmt, formats.cifar_batches())
    name = batch + (".bin" if fmt == "binary" else "")
    if fmt == "binary":
        (folder / name).write_bytes(b"")
    else:
        (folder / name).write_bytes(formats.py2_pickle({"data": np.zeros((0, 3072), np.uint8), "labels": []}))
    with pytest.raises(UserError, match=f"{folder / name}: (empty|an empty batch)"):
        load_dataset("cifar10", str(folder))


def test_a_cifar_label_out_of_range_names_the_batch_file(tmp_path, formats):
    batches = formats.cifar_batches()
    images, labels = batches["data_batch_4"]
    batches["data_batch_4"] = (images, np.array([1, 12, 3]))
    folder = formats.write_cifar_folder(tmp_path, "binary", batches)
    with pytest.raises(UserError, match=f"{folder / 'data_batch_4.bin'}: record 1 has label 12"):
        load_dataset("cifar10", str(folder))


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e39"])
def test_non_finite_susy_features_name_the_file_and_line(tmp_path, formats, value):
    rows = formats.susy_rows(40)
    lines = [",".join(f"{v:.6f}" for v in r) for r in rows]
    fields = lines[6].split(",")
    fields[4] = value
    lines[6] = ",".join(fields)
    p = tmp_path / "SUSY.csv"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=f"{p}: line 7 has feature 4 of 18 = .*; features must be finite"):
        load_dataset("susy", str(p), train_limit=30, test_limit=10)

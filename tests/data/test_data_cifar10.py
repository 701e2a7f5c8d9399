import io
import os
import pickle

import numpy as np
import pytest

from tffnoise.data import cifar10, load_dataset
from tffnoise.errors import DataNotFoundError, UserError


def expected(batches, names):
    images = np.concatenate([batches[n][0] for n in names])
    labels = np.concatenate([batches[n][1] for n in names])
    hwc = images.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1) / 255.0
    return hwc, labels


TRAIN = [f"data_batch_{i}" for i in range(1, 6)]


@pytest.mark.parametrize("fmt", ["binary", "python"])
@pytest.mark.parametrize("layout", ["archive", "folder"])
def test_reads_each_version_and_layout(tmp_path, formats, fmt, layout):
    batches = formats.cifar_batches()
    write = formats.write_cifar_archive if layout == "archive" else formats.write_cifar_folder
    location = write(tmp_path / "d", fmt, batches)
    for path in (location, tmp_path / "d"):  # the archive/folder itself, or the folder holding it
        d = load_dataset("cifar10", str(path))
        x_train, y_train = expected(batches, TRAIN)
        x_test, y_test = expected(batches, ["test_batch"])
        assert d.x_train.shape == (15, 32, 32, 3) and d.x_train.dtype == np.float32
        np.testing.assert_allclose(d.x_train, x_train, rtol=1e-6)
        np.testing.assert_array_equal(d.y_train, y_train)
        np.testing.assert_allclose(d.x_test, x_test, rtol=1e-6)
        np.testing.assert_array_equal(d.y_test, y_test)
        np.testing.assert_array_equal(d.train_ids, np.arange(15))
        assert d.name == "cifar10" and d.num_classes == 10 and not d.synthetic
        assert fmt in d.description and str(location) in d.description


@pytest.mark.parametrize("fmt", ["binary", "python"])
def test_limits_span_batches_in_order(tmp_path, formats, fmt):
    batches = formats.cifar_batches()
    formats.write_cifar_archive(tmp_path, fmt, batches)
    d = load_dataset("cifar10", str(tmp_path), train_limit=5, test_limit=1)
    x_train, y_train = expected(batches, TRAIN)
    np.testing.assert_allclose(d.x_train, x_train[:5], rtol=1e-6)
    np.testing.assert_array_equal(d.y_train, y_train[:5])
    assert len(d.y_test) == 1


def test_never_extracts_to_disk(tmp_path, formats):
    formats.write_cifar_archive(tmp_path, "binary", formats.cifar_batches())
    before = sorted(p for p in tmp_path.rglob("*"))
    load_dataset("cifar10", str(tmp_path))
    assert sorted(p for p in tmp_path.rglob("*")) == before


def test_prefers_binary_and_searches_data_dirs(tmp_path, formats, monkeypatch):
    batches = formats.cifar_batches()
    formats.write_cifar_archive(tmp_path / "env", "python", batches)
    formats.write_cifar_archive(tmp_path / "env", "binary", batches)
    monkeypatch.setenv("TFFNOISE_DATA_DIR", str(tmp_path / "env"))
    d = load_dataset("cifar10")
    assert d.source_paths == (str(tmp_path / "env" / "cifar-10-binary.tar.gz"),)


def test_keras_cache_folder_is_searched(tmp_path, formats):
    formats.write_cifar_folder(tmp_path / "system" / "keras", "python", formats.cifar_batches())
    d = load_dataset("cifar10")
    assert len(d.source_paths) == 6 and "keras" in d.source_paths[0]


def test_missing_lists_every_path_tried(tmp_path, monkeypatch):
    monkeypatch.setenv("TFFNOISE_DATA_DIR", str(tmp_path / "env"))
    with pytest.raises(DataNotFoundError) as err:
        load_dataset("cifar10")
    msg = str(err.value)
    assert "\n" not in msg and "Toronto" in msg
    for folder in [tmp_path / "env", tmp_path / "env" / "cifar10", tmp_path / "home" / ".tffnoise" / "data",
                   tmp_path / "system" / "keras"]:
        for name in cifar10.CANDIDATES:
            assert str(folder / name) in msg


def test_incomplete_archive(tmp_path, formats):
    members = formats.cifar_members("binary", formats.cifar_batches())
    del members["test_batch.bin"]
    formats.write_cifar_archive(tmp_path, "binary", None, members=members)
    with pytest.raises(UserError, match="missing test_batch.bin"):
        load_dataset("cifar10", str(tmp_path))


def test_bad_record_size(tmp_path, formats):
    folder = formats.write_cifar_folder(tmp_path, "binary", formats.cifar_batches())
    (folder / "data_batch_2.bin").write_bytes(b"\x00" * 3000)
    with pytest.raises(UserError, match="data_batch_2.bin.*3073"):
        load_dataset("cifar10", str(folder))


def test_not_a_tar_file(tmp_path):
    (tmp_path / "cifar-10-binary.tar.gz").write_bytes(b"not a tar archive at all")
    with pytest.raises(UserError, match="cifar-10-binary.tar.gz"):
        load_dataset("cifar10", str(tmp_path))


class RunsShell:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused(tmp_path, formats):
    marker = tmp_path / "pwned"
    members = formats.cifar_members("python", formats.cifar_batches())
    members["data_batch_1"] = pickle.dumps({"data": RunsShell(marker), "labels": []}, protocol=2)
    formats.write_cifar_archive(tmp_path / "d", "python", None, members=members)
    with pytest.raises(UserError, match=r"data_batch_1.*refused global (posix|os)\.system"):
        load_dataset("cifar10", str(tmp_path / "d"))
    assert not marker.exists()


@pytest.mark.parametrize("payload", [
    pickle.dumps(eval, protocol=4),  # a bare builtin
    b"cbuiltins\nexec\n(S'import os'\ntR.",  # hand-written protocol 0
    pickle.dumps(np.ma.masked_array([1, 2]), protocol=4),  # numpy, but not a plain array
])
def test_unpickler_allows_only_numpy_arrays(payload):
    with pytest.raises(pickle.UnpicklingError):
        cifar10.NumpyOnlyUnpickler(io.BytesIO(payload), encoding="bytes").load()


def test_unpickler_rebuilds_plain_arrays(formats):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    for blob in (formats.py2_pickle(array), pickle.dumps(array, protocol=4)):
        out = cifar10.NumpyOnlyUnpickler(io.BytesIO(blob), encoding="bytes").load()
        np.testing.assert_array_equal(out, array)


def test_python_batch_with_wrong_contents(tmp_path, formats):
    members = formats.cifar_members("python", formats.cifar_batches())
    members["test_batch"] = formats.py2_pickle({"data": np.zeros((2, 3072), np.float64), "labels": [0, 1]})
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name, blob in members.items():
        (folder / name).write_bytes(blob)
    with pytest.raises(UserError, match="test_batch: 'data' must be a uint8 array"):
        load_dataset("cifar10", str(folder))

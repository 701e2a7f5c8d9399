import gzip

import numpy as np
import pytest

from tffnoise.data import load_dataset
from tffnoise.errors import DataNotFoundError, UserError


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("source", ["mnist", "fashion-mnist"])
def test_reads_idx_files_raw_and_gzipped(tmp_path, idx_files, source, gz):
    arrays = idx_files(tmp_path / "d", gz=gz)
    d = load_dataset(source, str(tmp_path / "d"))
    assert d.name == source and not d.synthetic and d.num_classes == 10
    assert d.x_train.shape == (12, 28, 28, 1) and d.x_train.dtype == np.float32
    assert d.x_test.shape == (5, 28, 28, 1)
    np.testing.assert_allclose(d.x_train[..., 0], arrays["train_images"] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(d.y_train, arrays["train_labels"])
    np.testing.assert_array_equal(d.y_test, arrays["test_labels"])
    assert d.y_train.dtype == np.int32 and 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0
    np.testing.assert_array_equal(d.train_ids, np.arange(12))
    assert len(d.source_paths) == 4 and all(p.endswith(".gz") == gz for p in d.source_paths)


def test_limits_read_a_prefix(tmp_path, idx_files):
    arrays = idx_files(tmp_path / "d", gz=True)
    d = load_dataset("mnist", str(tmp_path / "d"), train_limit=4, test_limit=2)
    assert len(d.y_train) == 4 and len(d.y_test) == 2
    np.testing.assert_allclose(d.x_train[..., 0], arrays["train_images"][:4] / 255.0, rtol=1e-6)
    # A limit above the file's size is a cap, not an error.
    assert len(load_dataset("mnist", str(tmp_path / "d"), train_limit=1000).y_train) == 12


def test_path_may_be_one_of_the_files(tmp_path, idx_files):
    idx_files(tmp_path / "d")
    d = load_dataset("mnist", str(tmp_path / "d" / "train-images-idx3-ubyte"))
    assert len(d.y_train) == 12


def test_data_dir_uses_per_source_subfolder(tmp_path, idx_files, monkeypatch):
    idx_files(tmp_path / "env" / "fashion-mnist")
    monkeypatch.setenv("TFFNOISE_DATA_DIR", str(tmp_path / "env"))
    assert load_dataset("fashion-mnist").name == "fashion-mnist"
    # Same file names, but MNIST must never be served from the Fashion-MNIST folder.
    with pytest.raises(DataNotFoundError):
        load_dataset("mnist")


def test_home_and_system_dirs_are_searched(tmp_path, idx_files):
    idx_files(tmp_path / "system" / "fashion-mnist", gz=True)  # stands in for /usr/share/datasets/fashion-mnist
    assert "system" in load_dataset("fashion-mnist").source_paths[0]
    idx_files(tmp_path / "home" / ".tffnoise" / "data" / "mnist")
    assert "home" in load_dataset("mnist").source_paths[0]


def test_missing_lists_every_place_tried(tmp_path, monkeypatch):
    monkeypatch.setenv("TFFNOISE_DATA_DIR", str(tmp_path / "env"))
    with pytest.raises(DataNotFoundError) as err:
        load_dataset("fashion-mnist")
    msg = str(err.value)
    assert "\n" not in msg
    for place in [tmp_path / "env" / "fashion-mnist", tmp_path / "home" / ".tffnoise" / "data" / "fashion-mnist",
                  tmp_path / "system" / "fashion-mnist"]:
        assert str(place) in msg
    assert "t10k-labels-idx1-ubyte" in msg and "Zalando" in msg and "dataset-fashion-mnist" in msg


def test_partial_folder_names_missing_file(tmp_path, idx_files, formats):
    idx_files(tmp_path / "d")
    (tmp_path / "d" / formats.IDX_NAMES["test_labels"]).unlink()
    with pytest.raises(DataNotFoundError, match="missing t10k-labels-idx1-ubyte"):
        load_dataset("mnist", str(tmp_path / "d"))


def test_missing_explicit_path(tmp_path):
    with pytest.raises(DataNotFoundError, match="nowhere.*LeCun"):
        load_dataset("mnist", str(tmp_path / "nowhere"))


@pytest.mark.parametrize("gz", [False, True])
def test_bad_magic_names_the_file(tmp_path, idx_files, gz, formats):
    idx_files(tmp_path / "d", gz=gz)
    formats.write_idx(tmp_path / "d" / formats.IDX_NAMES["train_labels"], np.zeros(12), gz=gz, magic=b"\x00\x00\x08\x03")
    with pytest.raises(UserError, match=f"{formats.IDX_NAMES['train_labels']}.*magic") as err:
        load_dataset("mnist", str(tmp_path / "d"))
    assert "\n" not in str(err.value)


def test_truncated_and_mismatched_files(tmp_path, idx_files, formats):
    idx_files(tmp_path / "d")
    images = tmp_path / "d" / formats.IDX_NAMES["train_images"]
    images.write_bytes(images.read_bytes()[:-10])
    with pytest.raises(UserError, match="truncated"):
        load_dataset("mnist", str(tmp_path / "d"))
    idx_files(tmp_path / "d")
    formats.write_idx(tmp_path / "d" / formats.IDX_NAMES["train_labels"], np.zeros(11))
    with pytest.raises(UserError, match="12 images but .* 11 labels"):
        load_dataset("mnist", str(tmp_path / "d"))


def test_broken_gzip_is_a_user_error(tmp_path, idx_files, formats):
    idx_files(tmp_path / "d", gz=True)
    path = tmp_path / "d" / (formats.IDX_NAMES["test_images"] + ".gz")
    path.write_bytes(gzip.compress(b"x" * 100)[:30])
    with pytest.raises(UserError, match="t10k-images"):
        load_dataset("mnist", str(tmp_path / "d"))


def test_wrong_image_size(tmp_path, idx_files, formats):
    idx_files(tmp_path / "d")
    formats.write_idx(tmp_path / "d" / formats.IDX_NAMES["test_images"], np.zeros((5, 32, 32)))
    with pytest.raises(UserError, match=r"\(32, 32\); expected \(28, 28\)"):
        load_dataset("mnist", str(tmp_path / "d"))

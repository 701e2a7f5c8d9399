import gzip

import numpy as np
import pytest

from tffnoise.data import load_dataset, susy
from tffnoise.errors import DataNotFoundError, UserError


@pytest.mark.parametrize("gz", [False, True])
def test_train_is_the_first_rows_and_test_the_rows_after(tmp_path, formats, gz):
    rows = formats.susy_rows(50)
    path = formats.write_susy(tmp_path / ("SUSY.csv.gz" if gz else "SUSY.csv"), rows, gz=gz)
    d = load_dataset("susy", str(path), train_limit=20, test_limit=7)
    assert d.name == "susy" and d.num_classes == 2 and not d.synthetic
    assert d.x_train.shape == (20, 18) and d.x_train.dtype == np.float32 and d.y_train.dtype == np.int32
    np.testing.assert_array_equal(d.x_train, rows[:20, 1:].astype(np.float32))
    np.testing.assert_array_equal(d.y_train, rows[:20, 0])
    np.testing.assert_array_equal(d.x_test, rows[20:27, 1:].astype(np.float32))
    np.testing.assert_array_equal(d.y_test, rows[20:27, 0])
    np.testing.assert_array_equal(d.train_ids, np.arange(20))
    np.testing.assert_array_equal(d.test_ids, np.arange(20, 27))
    assert d.source_paths == (str(path),) and "20 train / 7 test" in d.description


def test_reading_stops_at_the_limit(tmp_path, formats):
    """A file whose tail is broken still loads when the limit stops before it: proof that it streams."""
    rows = formats.susy_rows(30)
    text = "".join(",".join(f"{v:.6f}" for v in r) + "\n" for r in rows).encode()
    (tmp_path / "SUSY.csv.gz").write_bytes(gzip.compress(text + b"not,a,row\n" * 1000)[:-40])
    d = load_dataset("susy", str(tmp_path), train_limit=25, test_limit=5)
    np.testing.assert_array_equal(d.x_test[-1], rows[29, 1:].astype(np.float32))
    with pytest.raises(UserError, match="line 31 has 3 fields"):
        load_dataset("susy", str(tmp_path), train_limit=25, test_limit=6)


def test_chunk_boundaries(tmp_path, formats, monkeypatch):
    monkeypatch.setattr(susy, "CHUNK_ROWS", 4)
    rows = formats.susy_rows(23)
    formats.write_susy(tmp_path / "SUSY.csv", rows)
    d = load_dataset("susy", str(tmp_path), train_limit=13, test_limit=10)
    np.testing.assert_array_equal(d.x_train, rows[:13, 1:].astype(np.float32))
    np.testing.assert_array_equal(d.y_test, rows[13:, 0])


def test_without_train_limit_test_is_the_last_rows(tmp_path, formats):
    rows = formats.susy_rows(30)
    formats.write_susy(tmp_path / "SUSY.csv", rows)
    d = load_dataset("susy", str(tmp_path), test_limit=10)
    np.testing.assert_array_equal(d.y_train, rows[:20, 0])
    np.testing.assert_array_equal(d.test_ids, np.arange(20, 30))
    with pytest.raises(UserError, match="only 30 rows"):
        load_dataset("susy", str(tmp_path))  # the UCI 500,000 test rows do not fit


def test_too_few_rows_for_a_test_set(tmp_path, formats):
    formats.write_susy(tmp_path / "SUSY.csv", formats.susy_rows(10))
    with pytest.raises(UserError, match="none left for testing"):
        load_dataset("susy", str(tmp_path), train_limit=10, test_limit=5)
    # Limits are caps: a short test set is fine.
    assert len(load_dataset("susy", str(tmp_path), train_limit=8, test_limit=5).y_test) == 2


def test_bad_label(tmp_path, formats):
    rows = formats.susy_rows(10)
    rows[3, 0] = 2.0
    formats.write_susy(tmp_path / "SUSY.csv", rows)
    with pytest.raises(UserError, match="line 4 has label 2.0"):
        load_dataset("susy", str(tmp_path), train_limit=5, test_limit=5)


def test_searches_data_dirs_and_lists_every_path(tmp_path, formats, monkeypatch):
    monkeypatch.setenv("TFFNOISE_DATA_DIR", str(tmp_path / "env"))
    with pytest.raises(DataNotFoundError) as err:
        load_dataset("susy", train_limit=5, test_limit=5)
    msg = str(err.value)
    assert "\n" not in msg and "UCI" in msg
    for folder in [tmp_path / "env", tmp_path / "env" / "susy", tmp_path / "home" / ".tffnoise" / "data"]:
        for name in ("SUSY.csv", "SUSY.csv.gz"):
            assert str(folder / name) in msg
    path = formats.write_susy(tmp_path / "home" / ".tffnoise" / "data" / "susy" / "SUSY.csv.gz", formats.susy_rows(12), gz=True)
    assert load_dataset("susy", train_limit=5, test_limit=5).source_paths == (str(path),)

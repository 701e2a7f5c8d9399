import pytest

from tffnoise.data import SOURCES, data_dirs, load_dataset
from tffnoise.errors import DataNotFoundError, UserError


def test_unknown_source_lists_the_known_ones():
    with pytest.raises(UserError) as err:
        load_dataset("imagenet")
    msg = str(err.value)
    assert msg.startswith("data.source") and "imagenet" in msg and "\n" not in msg
    assert all(s in msg for s in SOURCES)


@pytest.mark.parametrize("field, kwargs", [
    ("data.train_limit", {"train_limit": 0}),
    ("data.test_limit", {"test_limit": -1}),
    ("data.train_limit", {"train_limit": 2.5}),
    ("data.test_limit", {"test_limit": True}),
])
def test_bad_limits_name_the_field(field, kwargs):
    with pytest.raises(UserError, match=field):
        load_dataset("susy", synthetic=True, **kwargs)


def test_synthetic_with_a_path_is_refused(tmp_path):
    with pytest.raises(UserError, match="data.path"):
        load_dataset("cifar10", str(tmp_path), synthetic=True)


def test_no_silent_fallback_to_synthetic():
    with pytest.raises(DataNotFoundError):
        load_dataset("cifar10")


def test_data_dirs_order(tmp_path, monkeypatch):
    assert data_dirs() == [tmp_path / "home" / ".tffnoise" / "data"]
    monkeypatch.setenv("TFFNOISE_DATA_DIR", str(tmp_path / "env"))
    assert data_dirs() == [tmp_path / "env", tmp_path / "home" / ".tffnoise" / "data"]


def test_env_dir_wins_over_home(tmp_path, formats, monkeypatch):
    formats.write_susy(tmp_path / "env" / "SUSY.csv", formats.susy_rows(10))
    formats.write_susy(tmp_path / "home" / ".tffnoise" / "data" / "SUSY.csv", formats.susy_rows(10))
    monkeypatch.setenv("TFFNOISE_DATA_DIR", str(tmp_path / "env"))
    assert load_dataset("susy", train_limit=5, test_limit=5).source_paths == (str(tmp_path / "env" / "SUSY.csv"),)

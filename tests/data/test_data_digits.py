import numpy as np
import pytest

from tffnoise.data import load_dataset
from tffnoise.errors import UserError


def test_shapes_ranges_and_flags():
    d = load_dataset("digits")
    assert d.name == "digits" and not d.synthetic and d.num_classes == 10 and d.source_paths == ()
    assert d.x_train.shape == (1497, 64) and d.x_test.shape == (300, 64)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int32 and d.train_ids.dtype == np.int64
    assert d.x_train.min() == 0.0 and d.x_train.max() == 1.0
    assert set(np.unique(d.y_test)) == set(range(10))
    assert not set(d.train_ids) & set(d.test_ids) and len(set(d.train_ids) | set(d.test_ids)) == 1797


def test_split_is_fixed_whatever_the_seed():
    a, b = load_dataset("digits", seed=0), load_dataset("digits", seed=7)
    np.testing.assert_array_equal(a.test_ids, b.test_ids)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert set(np.bincount(a.y_test)) <= {29, 30, 31}  # stratified: about 300 / 10 each


def test_ids_point_at_the_source_rows():
    from sklearn.datasets import load_digits

    d = load_dataset("digits", train_limit=10, test_limit=5)
    raw = load_digits()
    assert len(d.y_train) == 10 and len(d.y_test) == 5
    np.testing.assert_array_equal(d.x_train * 16, raw.data[d.train_ids])
    np.testing.assert_array_equal(d.y_test, raw.target[d.test_ids])


def test_synthetic_digits_is_refused():
    with pytest.raises(UserError, match="data.synthetic"):
        load_dataset("digits", synthetic=True)

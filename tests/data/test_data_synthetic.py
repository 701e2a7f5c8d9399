import numpy as np
import pytest

from tffnoise.data import load_dataset

SHAPES = {"susy": (18,), "mnist": (28, 28, 1), "fashion-mnist": (28, 28, 1), "cifar10": (32, 32, 3)}


@pytest.mark.parametrize("source", list(SHAPES))
def test_flagged_shaped_and_deterministic(source):
    a = load_dataset(source, synthetic=True, train_limit=60, test_limit=20, seed=3)
    b = load_dataset(source, synthetic=True, train_limit=60, test_limit=20, seed=3)
    c = load_dataset(source, synthetic=True, train_limit=60, test_limit=20, seed=4)
    assert a.name == f"{source}-synthetic" and a.synthetic and "SYNTHETIC" in a.description
    assert a.source_paths == () and a.num_classes == (2 if source == "susy" else 10)
    assert a.x_train.shape == (60, *SHAPES[source]) and a.x_test.shape == (20, *SHAPES[source])
    assert a.x_train.dtype == np.float32 and a.y_train.dtype == np.int32 and a.train_ids.dtype == np.int64
    for field in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.x_train, c.x_train)
    assert not np.array_equal(a.x_train[:20], a.x_test)  # train and test are different draws
    if source != "susy":
        assert a.x_train.min() >= 0.0 and a.x_train.max() <= 1.0
    # Asking for more examples extends the set rather than redrawing it.
    bigger = load_dataset(source, synthetic=True, train_limit=80, test_limit=20, seed=3)
    np.testing.assert_array_equal(bigger.x_train[:60], a.x_train)


def test_default_sizes_are_small():
    d = load_dataset("susy", synthetic=True)
    assert len(d.y_train) == 4000 and len(d.y_test) == 1000
    assert 0.4 < d.y_train.mean() < 0.6


def test_susy_like_is_learnable_and_not_linear():
    from sklearn.linear_model import LogisticRegression

    d = load_dataset("susy", synthetic=True, train_limit=3000, test_limit=1000, seed=1)
    linear = LogisticRegression(max_iter=300).fit(d.x_train, d.y_train).score(d.x_test, d.y_test)
    # A model that sees the teacher's nonlinear terms does clearly better than the linear one.
    def lift(x):
        return np.concatenate([x, x[:, :1] * x[:, 1:2], x[:, 2:3] ** 2, np.tanh(x)], axis=1)

    richer = LogisticRegression(max_iter=300).fit(lift(d.x_train), d.y_train).score(lift(d.x_test), d.y_test)
    assert 0.62 < linear < 0.76
    assert richer > linear + 0.02


def test_image_classes_are_learnable():
    from sklearn.linear_model import LogisticRegression

    d = load_dataset("mnist", synthetic=True, train_limit=500, test_limit=200, seed=0)
    acc = LogisticRegression(max_iter=200).fit(d.x_train.reshape(500, -1), d.y_train).score(
        d.x_test.reshape(200, -1), d.y_test
    )
    assert acc > 0.5

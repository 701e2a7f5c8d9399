import numpy as np
import pytest

from tffnoise.data import PARTITION_SCHEMES, client_counts, label_histogram, partition
from tffnoise.errors import UserError

LABELS = np.repeat(np.arange(10), 100)  # 1000 examples, 100 per class
np.random.default_rng(0).shuffle(LABELS)


@pytest.mark.parametrize("scheme", PARTITION_SCHEMES)
@pytest.mark.parametrize("per_client", [None, 37])
def test_disjoint_sized_and_deterministic(scheme, per_client):
    parts = partition(LABELS, 8, per_client, scheme, alpha=0.3, seed=5)
    assert len(parts) == 8 and all(p.dtype == np.int64 for p in parts)
    assert client_counts(parts) == [per_client or 1000 // 8] * 8
    flat = np.concatenate(parts)
    assert len(np.unique(flat)) == len(flat) and flat.min() >= 0 and flat.max() < 1000
    again = partition(LABELS, 8, per_client, scheme, alpha=0.3, seed=5)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))
    other = partition(LABELS, 8, per_client, scheme, alpha=0.3, seed=6)
    assert not all(np.array_equal(a, b) for a, b in zip(parts, other))


def skew(parts):
    """Mean share of each client's most common label: 0.1 for perfectly balanced, 1.0 for one label each."""
    hist = label_histogram(LABELS, parts, 10)
    return float(np.mean(hist.max(axis=1) / hist.sum(axis=1)))


def test_iid_is_balanced():
    assert skew(partition(LABELS, 10, 100, "iid")) < 0.25


def test_dirichlet_small_alpha_is_more_skewed():
    small = np.mean([skew(partition(LABELS, 10, 80, "dirichlet", alpha=0.05, seed=s)) for s in range(3)])
    large = np.mean([skew(partition(LABELS, 10, 80, "dirichlet", alpha=100.0, seed=s)) for s in range(3)])
    assert small > 0.5 and large < 0.25 and small > large + 0.3


def test_shards_limit_labels_per_client():
    parts = partition(LABELS, 10, None, "shards", shards_per_client=2, seed=1)
    hist = label_histogram(LABELS, parts, 10)
    assert ((hist > 0).sum(axis=1) <= 2).all()
    # With a subsample, shard edges no longer fall on label boundaries: a shard may straddle two labels.
    parts = partition(LABELS, 10, 60, "shards", shards_per_client=3, seed=1)
    labels_seen = (label_histogram(LABELS, parts, 10) > 0).sum(axis=1)
    assert labels_seen.max() <= 2 * 3 and labels_seen.mean() < 5
    assert client_counts(parts) == [60] * 10


def test_label_histogram():
    parts = [np.array([0, 1]), np.array([], dtype=np.int64)]
    np.testing.assert_array_equal(label_histogram(np.array([2, 2, 0]), parts, 3), [[0, 0, 2], [0, 0, 0]])


def test_not_enough_examples():
    with pytest.raises(UserError, match=r"data.examples_per_client.*only 1000 are available; use at most 100") as err:
        partition(LABELS, 10, 101)
    assert "\n" not in str(err.value)
    with pytest.raises(UserError, match="data.clients"):
        partition(LABELS[:5], 6)


@pytest.mark.parametrize("field, kwargs", [
    ("data.clients", {"num_clients": 0}),
    ("data.clients", {"num_clients": 2.0}),
    ("data.examples_per_client", {"examples_per_client": 0}),
    ("data.partition", {"scheme": "pathological"}),
    ("data.alpha", {"scheme": "dirichlet", "alpha": 0.0}),
    ("data.alpha", {"scheme": "dirichlet", "alpha": float("nan")}),
    ("data.shards_per_client", {"scheme": "shards", "shards_per_client": 0}),
    ("data.shards_per_client", {"scheme": "shards", "examples_per_client": 3, "shards_per_client": 4}),
])
def test_bad_arguments_name_the_field(field, kwargs):
    args = {"num_clients": 4} | kwargs
    with pytest.raises(UserError, match=field):
        partition(LABELS, **args)


# --- what prepare() makes of a partition: validation split, test subset, trimming (issue 17, item 10) ---

def _dataset(n_train=200, n_test=300):
    from tffnoise.data import Dataset

    rng = np.random.default_rng(0)
    return Dataset(name="toy", x_train=rng.normal(size=(n_train, 4)).astype(np.float32),
                   y_train=(np.arange(n_train) % 2).astype(np.int32), x_test=rng.normal(size=(n_test, 4)).astype(np.float32),
                   y_test=(np.arange(n_test) % 2).astype(np.int32), num_classes=2, synthetic=True,
                   train_ids=np.arange(n_train, dtype=np.int64), test_ids=np.arange(1000, 1000 + n_test, dtype=np.int64),
                   source_paths=(), description="toy")


TOY = ["data.clients=2", "data.examples_per_client=40", "model.hidden=[3]", "training.batch_size=2",
       "training.rounds=2", "data.validation_fraction=0.25"]


def _prepare(overrides=(), repeats=(0, 1)):
    from tffnoise.algorithms.problem import prepare
    from tffnoise.config import load_config

    return prepare(load_config(None, TOY + list(overrides)), list(repeats), dataset=_dataset())


def test_validation_split_is_a_seeded_random_subset_of_each_learner():
    p = _prepare()
    assert p.member_ids.shape == (2, 2, 30) and p.x_val.shape == (2, 20, 4)
    for ri in range(2):
        val_ids = p.x_val[ri]  # ids are recovered through the features (unique per example)
        x_train = _dataset().x_train
        val = np.array([int(np.flatnonzero((x_train == v).all(1))[0]) for v in val_ids]).reshape(2, 10)
        for i in range(2):
            train = p.member_ids[ri, i]
            assert not set(train) & set(val[i]) and len(set(train) | set(val[i])) == 40
            # not the tail of the sorted partition (the old split): some held-out id lies below a training id
            assert val[i].min() < train.max()
    again = _prepare()
    np.testing.assert_array_equal(p.member_ids, again.member_ids)
    np.testing.assert_array_equal(p.x_val, again.x_val)


def test_test_examples_are_a_seeded_random_subset_shared_by_repeats_and_settings():
    a = _prepare(["data.test_examples=50"], repeats=(0,))
    b = _prepare(["data.test_examples=50", "noise.weights.level=0.5", "training.learning_rate=0.3"], repeats=(1, 2))
    assert len(a.test_ids) == 50 and len(np.unique(a.test_ids)) == 50
    assert not np.array_equal(a.test_ids, np.arange(1000, 1050))  # not the first 50
    assert a.test_ids.max() > 1100
    np.testing.assert_array_equal(a.test_ids, b.test_ids)
    c = _prepare(["data.test_examples=50", "experiment.seed=9"], repeats=(0,))
    assert not np.array_equal(a.test_ids, c.test_ids)
    assert len(_prepare(repeats=(0,)).test_ids) == 300  # 0 = the whole test set


def test_trimming_to_the_smallest_partition_is_random_and_recorded(monkeypatch):
    from tffnoise import data

    def uneven(labels, m, *a, **k):
        return [np.arange(0, 50), np.arange(50, 90)]  # 50 and 40 examples

    monkeypatch.setattr(data, "partition", uneven)
    p = _prepare(["data.validation_fraction=0.0"], repeats=(0,))
    assert p.trimmed == [10]
    assert p.member_ids.shape == (1, 2, 40)
    kept = p.member_ids[0, 0]
    assert kept.max() > 40  # a random 40 of learner 0's 50, not its first 40
    assert _prepare(["data.validation_fraction=0.0"], repeats=(0,)).trimmed == [10]

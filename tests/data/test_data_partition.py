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

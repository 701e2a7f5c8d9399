"""Splitting a training set among simulated clients, IID or with label skew, reproducibly per seed.

Every scheme gives each client the same number of examples (`examples_per_client`, or an equal share of all when
unset), so the schemes differ only in which labels clients see, not in how much data they hold.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..errors import ConfigError, UserError

PARTITION_SCHEMES = ("iid", "dirichlet", "shards")


def partition(
    labels: np.ndarray,
    num_clients: int,
    examples_per_client: int | None = None,
    scheme: str = "iid",
    *,
    alpha: float = 0.5,
    shards_per_client: int = 2,
    seed: int = 0,
) -> list[np.ndarray]:
    """Disjoint, sorted int64 index arrays into the training set, one per client."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
    if scheme not in PARTITION_SCHEMES:
        raise ConfigError("data.partition", scheme, f"one of {', '.join(PARTITION_SCHEMES)}")
    num_clients = _positive_int("data.clients", num_clients)
    n = len(labels)
    if examples_per_client is None:
        per_client = n // num_clients
        if per_client == 0:
            raise ConfigError("data.clients", num_clients, f"at most {n}, the number of training examples")
    else:
        per_client = _positive_int("data.examples_per_client", examples_per_client)
        if per_client * num_clients > n:
            raise UserError(
                f"data.examples_per_client: {per_client} x {num_clients} clients needs {per_client * num_clients} "
                f"examples but only {n} are available; use at most {n // num_clients}"
            )
    rng = np.random.default_rng(seed)
    if scheme == "iid":
        chosen = rng.permutation(n)[: per_client * num_clients]
        parts = np.split(chosen, num_clients)
    elif scheme == "dirichlet":
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not (math.isfinite(alpha) and alpha > 0):
            raise ConfigError("data.alpha", alpha, "a positive finite number (small = more label skew)")
        parts = _dirichlet(labels, num_clients, per_client, float(alpha), rng)
    else:
        shards_per_client = _positive_int("data.shards_per_client", shards_per_client)
        if shards_per_client > per_client:
            raise ConfigError(
                "data.shards_per_client", shards_per_client, f"at most {per_client}, the examples per client"
            )
        parts = _shards(labels, num_clients, per_client, shards_per_client, rng)
    return [np.sort(p).astype(np.int64) for p in parts]


def _dirichlet(labels, num_clients, per_client, alpha, rng) -> list[np.ndarray]:
    """Per class, shares over clients ~ Dir(alpha); then trim each client to per_client and fill the short ones.

    Filling draws from the unassigned pool weighted by the client's own Dirichlet shares of each class, so topping
    up keeps a client's skew instead of diluting it towards IID.
    """
    classes = np.unique(labels)
    shares = rng.dirichlet(np.full(num_clients, alpha), size=len(classes))  # (classes, clients)
    assigned: list[list[int]] = [[] for _ in range(num_clients)]
    for c, share in zip(classes, shares):
        members = rng.permutation(np.flatnonzero(labels == c))
        cuts = np.round(np.cumsum(share)[:-1] * len(members)).astype(int)
        for client, chunk in enumerate(np.split(members, cuts)):
            assigned[client].extend(chunk.tolist())
    pool: list[int] = []
    parts = []
    for client in range(num_clients):
        mine = rng.permutation(np.asarray(assigned[client], dtype=np.int64))
        parts.append(mine[:per_client])
        pool.extend(mine[per_client:].tolist())
    pool_arr = np.asarray(pool, dtype=np.int64)
    class_pos = np.searchsorted(classes, labels)
    for client in np.argsort([len(p) for p in parts], kind="stable"):
        need = per_client - len(parts[client])
        if need <= 0:
            continue
        weights = shares[class_pos[pool_arr], client] + 1e-12
        take = rng.choice(len(pool_arr), size=need, replace=False, p=weights / weights.sum())
        parts[client] = np.concatenate([parts[client], pool_arr[take]])
        pool_arr = np.delete(pool_arr, take)
    return parts


def _shards(labels, num_clients, per_client, shards_per_client, rng) -> list[np.ndarray]:
    """Sort a random sample by label, cut it into shards and deal them out at random (McMahan et al. 2017)."""
    chosen = rng.permutation(len(labels))[: per_client * num_clients]
    by_label = chosen[np.argsort(labels[chosen], kind="stable")]
    num_shards = num_clients * shards_per_client
    deal = rng.permutation(num_shards)  # shard slot -> (client, rank within the client)
    owner, rank = deal // shards_per_client, deal % shards_per_client
    # Sizes chosen so each client's shards add up to exactly per_client.
    base, extra = divmod(per_client, shards_per_client)
    sizes = base + (rank < extra)
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    parts: list[list[np.ndarray]] = [[] for _ in range(num_clients)]
    for slot in range(num_shards):
        parts[owner[slot]].append(by_label[bounds[slot] : bounds[slot + 1]])
    return [np.concatenate(p) for p in parts]


def client_counts(parts: list[np.ndarray]) -> list[int]:
    return [len(p) for p in parts]


def label_histogram(labels: np.ndarray, parts: list[np.ndarray], num_classes: int) -> np.ndarray:
    """(clients, classes) example counts: the quickest way to see how skewed a partition is."""
    labels = np.asarray(labels)
    hist = np.zeros((len(parts), num_classes), dtype=np.int64)
    for client, p in enumerate(parts):
        hist[client] = np.bincount(labels[p], minlength=num_classes)[:num_classes]
    return hist


def _positive_int(field: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ConfigError(field, value, "a positive integer")
    return int(value)

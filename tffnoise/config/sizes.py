"""Sizes that no machine runs, refused with the bound before anything is built."""
from __future__ import annotations

import math
import os

from tffnoise.config import schema
from tffnoise.errors import ConfigError

# Sizes that no machine runs are refused here, with the bound, before anything is built: a sweep's run
# specs are built up front, and every cell builds its batch order, [repeats, learners, rounds × sync_period,
# batch_size] int64 example indices, on either engine (tffnoise.algorithms.problem.prepare).
MAX_RUNS = 100_000
ORDER_ITEM_BYTES = 8


def memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 1 << 40


def _gib(n: float) -> str:
    return f"{n / 2**30:.3g} GiB"


def check_order_fits(cfg: schema.Config, rounds: int, field: str, value) -> None:
    """The cell's batch order must fit in half the machine's memory; `field` is what the user can change."""
    t = cfg.training
    learners = 1 if t.protocol == "serial" else cfg.data.clients
    need = cfg.experiment.repeats * learners * rounds * t.sync_period * t.batch_size * ORDER_ITEM_BYTES
    have = memory_bytes()
    if need > have // 2:
        raise ConfigError(field, value, f"a size whose batch order fits in memory: {cfg.experiment.repeats} repeats × "
                          f"{learners} learners × {rounds} rounds × {t.sync_period} steps × {t.batch_size} examples × "
                          f"{ORDER_ITEM_BYTES} bytes = {_gib(need)}, more than half of this machine's {_gib(have)}")


def rounds_from_epochs(t: schema.Training, n_local: int) -> int:
    """Rounds when `training.rounds` is 0: `epochs` passes over a learner's `n_local` examples."""
    return max(1, math.ceil(t.epochs * (n_local // t.batch_size) / t.sync_period))


def check_data_fit(cfg: schema.Config, ds) -> None:
    """The size checks that need the data: the same partition call a cell makes, the batch size against
    the examples per learner, the test-set size, the batch order of rounds derived from epochs. The
    runner's preflight (and so `validate --data`) calls it for every setting, before anything is written."""
    from tffnoise.data.partition import partition

    d, t = cfg.data, cfg.training
    n_test = len(ds.y_test)
    if n_test == 0:
        raise ConfigError("data.source", d.source, "a dataset with a non-empty test set (this one has no test examples)")
    if d.test_examples > n_test:
        raise ConfigError("data.test_examples", d.test_examples, f"at most {n_test}, the size of the test set (0 = all of it)")
    parts = partition(ds.y_train, d.clients, d.examples_per_client or None, d.partition, alpha=d.alpha,
                      shards_per_client=d.shards_per_client, seed=0)
    n = min(len(p) for p in parts)
    n_local = (n - int(round(n * d.validation_fraction))) * (d.clients if t.protocol == "serial" else 1)
    if t.batch_size > n_local:
        raise ConfigError("training.batch_size", t.batch_size, f"at most the examples per learner ({n_local})")
    if not t.rounds:
        check_order_fits(cfg, rounds_from_epochs(t, n_local), "training.epochs", t.epochs)



def check_sizes(cfg: schema.Config) -> None:
    if cfg.experiment.repeats > MAX_RUNS:
        raise ConfigError("experiment.repeats", cfg.experiment.repeats, f"at most {MAX_RUNS} (runs in one sweep)")
    if cfg.training.rounds:  # rounds from epochs depend on the data: checked with it (check_data_fit)
        check_order_fits(cfg, cfg.training.rounds, "training.rounds", cfg.training.rounds)

"""Everything a run needs before the first step, computed once and identically for both engines:
data per repeat and learner, the test and validation sets, initial weights, data order and keys."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from tffnoise.algorithms import keys as keylib
from tffnoise.config.schema import Config
from tffnoise.config.validate import rounds_from_epochs
from tffnoise.errors import ConfigError


@dataclass
class Problem:
    cfg: Config
    repeats: list[int]
    dataset_name: str
    synthetic: bool
    num_classes: int
    regression: bool
    loss_kind: str
    input_shape: tuple
    learners: int                    # M (1 for serial)
    x_clients: np.ndarray            # [R, M, n, ...] float32
    y_clients: np.ndarray            # [R, M, n]
    x_test: np.ndarray               # [N, ...]
    y_test: np.ndarray
    x_val: np.ndarray | None         # [R, Nv, ...] (each repeat's carved-out validation examples)
    y_val: np.ndarray | None
    member_ids: np.ndarray           # [R, M, n] dataset ids of each learner's training examples
    test_ids: np.ndarray
    rounds: int
    steps_per_round: int
    order: np.ndarray                # [R, M, rounds*b, B] indices into each learner's n examples
    learner_keys: np.ndarray         # [R, M] int64
    init_weights: list               # per Keras weight: [R, ...]
    model_fn: object                 # (seed) -> Keras model with the run's noise layers
    trimmed: list = field(default_factory=list)  # per repeat: examples dropped to trim partitions to the smallest
    mechanisms: list = field(default_factory=list)
    description: str = ""

    @property
    def examples_per_round(self) -> int:
        return self.learners * self.steps_per_round * self.cfg.training.batch_size


def _targets(y: np.ndarray, cfg: Config, num_classes: int) -> np.ndarray:
    if cfg.data.targets == "pm1":
        if num_classes != 2:
            raise ConfigError("data.targets", "pm1", f"'labels' (pm1 needs 2 classes; this data has {num_classes})")
        return np.where(y > 0, 1.0, -1.0).astype(np.float32)
    return y.astype(np.int32)


def batch_order(n: int, steps: int, batch: int, seed_parts: list[int]) -> np.ndarray:
    """[steps, batch] example indices: a fresh permutation every epoch, batches never straddle epochs
    (the last partial batch of an epoch is dropped, as a fixed-shape batch requires)."""
    if batch > n:
        raise ConfigError("training.batch_size", batch, f"at most the examples per learner ({n})")
    per_epoch = n // batch
    rng = np.random.default_rng(seed_parts)
    epochs = math.ceil(steps / per_epoch)
    perms = [rng.permutation(n)[: per_epoch * batch].reshape(per_epoch, batch) for _ in range(epochs)]
    return np.concatenate(perms)[:steps]


_INIT_CACHE: dict = {}
TEST_SUBSET = 0x7E57  # SeedSequence entropy word of the test subset (repeat-independent)
VALIDATION_PART = 5   # keys.numpy_seed part of the validation split (1: batch order, 2: selection, 3: no-sync pick, 4: MIA)


def initial_weights(cfg: Config, input_shape, num_classes: int, seed: int, model_fn) -> list:
    """A repeat's initial weights. Noise layers hold no weights and draw no initializer seeds, so cells
    of a sweep that differ in noise, protocol or learning rate share them: build each model once."""
    key = (repr(cfg.model), tuple(input_shape), num_classes, seed)
    if key not in _INIT_CACHE:
        if len(_INIT_CACHE) > 256:
            _INIT_CACHE.clear()
        _INIT_CACHE[key] = model_fn(seed).get_weights()
    return _INIT_CACHE[key]


def load_data(cfg: Config, seed: int = 0):
    from tffnoise.data import load_dataset

    src = cfg.data.source
    if ":" in src:
        from tffnoise.data.plugin import load_plugin_dataset

        return load_plugin_dataset(src, cfg, seed)
    need = (cfg.data.examples_per_client or 0) * cfg.data.clients
    train_limit = None
    if need:
        train_limit = int(math.ceil(need / max(1e-9, 1.0 - cfg.data.validation_fraction))) if cfg.data.validation_fraction else need
    # SUSY is read as a stream (its test rows are the data.test_examples rows after the training rows) and a
    # synthetic stand-in is generated at the asked size; any other source loads its whole test split, and
    # `pick_test_examples` draws the data.test_examples from it.
    streamed = src == "susy" or cfg.data.synthetic
    if cfg.data.synthetic and src != "susy":
        # an image stand-in keeps its default size (so small runs keep their data) unless the learners
        # need more: the paper's MNIST preset (10 x 500) runs on it at full size
        from tffnoise.data.synthetic import DEFAULT_TRAIN

        train_limit = train_limit if train_limit and train_limit > DEFAULT_TRAIN else None
    return load_dataset(src, cfg.data.path or None, synthetic=cfg.data.synthetic,
                        train_limit=train_limit if streamed else None,
                        test_limit=(cfg.data.test_examples or None) if streamed else None, seed=seed)


def pick_test_examples(n_test: int, wanted: int, seed: int) -> np.ndarray:
    """Sorted indices of the evaluated test examples: a seeded random subset of `wanted` (0 = all), the
    same for every repeat and setting of an experiment seed, so paired runs are tested on the same data."""
    if not wanted or wanted >= n_test:
        return np.arange(n_test)
    return np.sort(np.random.default_rng([int(seed), TEST_SUBSET]).choice(n_test, wanted, replace=False))


def split_learner(part: np.ndarray, n: int, nv: int, seed_parts: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(training, validation) indices of one learner: a seeded random n of its partition (all of it unless
    partitions are trimmed to the smallest), of which a seeded random nv are held out for validation.
    Both keep the partition's order."""
    perm = np.random.default_rng(seed_parts).permutation(len(part))
    keep = perm[:n]
    return part[np.sort(keep[nv:])], part[np.sort(keep[:nv])]


def prepare(cfg: Config, repeats: list[int], dataset=None) -> Problem:
    from tffnoise.algorithms.losses import resolve
    from tffnoise.data import partition
    from tffnoise.models.builders import build_model
    from tffnoise.noise.registry import build as build_mechanisms

    ds = dataset if dataset is not None else load_data(cfg, cfg.experiment.seed)
    regression = cfg.data.targets == "pm1"
    x_train = np.asarray(ds.x_train, np.float32)
    x_test = np.asarray(ds.x_test, np.float32)
    keep = pick_test_examples(len(x_test), cfg.data.test_examples, cfg.experiment.seed)
    x_test, y_test_raw, test_ids = x_test[keep], np.asarray(ds.y_test)[keep], np.asarray(ds.test_ids)[keep]
    if cfg.data.standardize:
        mu = x_train.mean(axis=0, keepdims=True)
        sd = x_train.std(axis=0, keepdims=True) + 1e-8
        x_train, x_test = (x_train - mu) / sd, (x_test - mu) / sd
    y_train = _targets(ds.y_train, cfg, ds.num_classes)
    y_test = _targets(y_test_raw, cfg, ds.num_classes)

    t = cfg.training
    m = cfg.data.clients
    serial = t.protocol == "serial"
    parts_by_repeat, xv, yv, orders, trimmed = [], [], [], [], []
    per_client = cfg.data.examples_per_client or None
    rounds = None
    for r in repeats:
        parts = partition(ds.y_train, m, per_client, cfg.data.partition, alpha=cfg.data.alpha,
                          shards_per_client=cfg.data.shards_per_client, seed=keylib.run_key(cfg.experiment.seed, r) & 0x7FFFFFFF)
        n = min(len(p) for p in parts)
        trimmed.append(sum(len(p) - n for p in parts))
        nv = int(round(n * cfg.data.validation_fraction))
        splits = [split_learner(p, n, nv, keylib.numpy_seed(cfg.experiment.seed, r, VALIDATION_PART, i))
                  for i, p in enumerate(parts)]
        train_parts = [tr for tr, _ in splits]
        if nv:
            val_idx = np.concatenate([va for _, va in splits])
            xv.append(x_train[val_idx])
            yv.append(y_train[val_idx])
        if serial:
            train_parts = [np.concatenate(train_parts)]
        n_local = len(train_parts[0])
        if rounds is None:
            rounds = t.rounds or rounds_from_epochs(t, n_local)
        steps_needed = rounds * t.sync_period
        parts_by_repeat.append(np.stack(train_parts))
        orders.append(np.stack([batch_order(n_local, steps_needed, t.batch_size,
                                            keylib.numpy_seed(cfg.experiment.seed, r, 1, i))
                                for i in range(len(train_parts))]))
    learners = 1 if serial else m
    idx = np.stack(parts_by_repeat)  # [R, M, n]: one gather per array, no intermediate copies
    mechanisms = build_mechanisms(cfg.noise)
    input_shape = tuple(x_train.shape[1:])

    def model_fn(seed: int):
        return build_model(cfg.model, input_shape, ds.num_classes, mechanisms, seed)

    inits = [initial_weights(cfg, input_shape, ds.num_classes, keylib.run_key(cfg.experiment.seed, r) & 0x7FFFFFFF, model_fn)
             for r in repeats]
    init_weights = [np.stack([w[j] for w in inits]) for j in range(len(inits[0]))]
    return Problem(
        cfg=cfg, repeats=list(repeats), dataset_name=ds.name, synthetic=bool(ds.synthetic),
        num_classes=ds.num_classes, regression=regression, loss_kind=resolve(t.loss, cfg.model.output),
        input_shape=input_shape, learners=learners, x_clients=x_train[idx], y_clients=y_train[idx],
        x_test=x_test, y_test=y_test, x_val=np.stack(xv) if xv else None, y_val=np.stack(yv) if yv else None,
        member_ids=np.asarray(ds.train_ids)[idx], test_ids=np.asarray(test_ids), rounds=rounds, steps_per_round=t.sync_period,
        order=np.stack(orders), learner_keys=keylib.learner_keys(cfg.experiment.seed, repeats, learners),
        init_weights=init_weights, model_fn=model_fn, trimmed=trimmed, mechanisms=mechanisms,
        description=ds.description,
    )

"""Key hierarchy shared by both engines: (seed, repeat) -> learner -> step. Same keys, same noise.

The hash is `tffnoise.noise.rng`'s, the one implementation (its NumPy path gives the keys made before
any tensor exists); this module names the levels of the hierarchy and the NumPy seeds of data order."""
from __future__ import annotations

STEP_STREAM = 13


def run_key(seed: int, repeat: int) -> int:
    from tffnoise.noise import rng

    return rng.run_key(seed, repeat)


def learner_keys(seed: int, repeats, learners: int):
    """int64 [R, M]."""
    from tffnoise.noise import rng

    return rng.learner_keys(seed, repeats, learners)


def numpy_seed(seed: int, repeat: int, *parts: int) -> list[int]:
    """A NumPy SeedSequence entropy list for data order, partitions and evaluation picks."""
    return [int(seed), int(repeat), *map(int, parts)]


def step_keys(learner_keys, step_t):
    """TF: the key a learner's forward pass draws its layer noise from at global step step_t."""
    from tffnoise.noise import rng

    return rng.fold_all(learner_keys, STEP_STREAM, step_t)

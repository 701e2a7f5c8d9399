"""Key hierarchy shared by both engines: (seed, repeat) -> learner -> step. Same keys, same noise."""
from __future__ import annotations

import numpy as np

M32 = 0xFFFFFFFF


def _mix(x: int) -> int:
    x ^= x >> 16
    x = (x * 0x21F0AAAD) & M32
    x ^= x >> 15
    x = (x * 0x735A2D97) & M32
    return x ^ (x >> 15)


def fold(key: int, value: int) -> int:
    """The NumPy twin of tffnoise.noise.rng.fold for Python ints (tested to agree)."""
    return _mix((key & M32) ^ _mix((value + 0x9E3779B9) & M32))


def run_key(seed: int, repeat: int) -> int:
    return fold(fold(seed & M32, 0x5EED), repeat)


def learner_keys(seed: int, repeats, learners: int) -> np.ndarray:
    """int64 [R, M]."""
    return np.array([[fold(run_key(seed, r), i) for i in range(learners)] for r in repeats], dtype=np.int64)


def numpy_seed(seed: int, repeat: int, *parts: int) -> list[int]:
    """A NumPy SeedSequence entropy list for data order, partitions and evaluation picks."""
    return [int(seed), int(repeat), *map(int, parts)]


STEP_STREAM = 13


def step_keys(learner_keys, step_t):
    """TF: the key a learner's forward pass draws its layer noise from at global step step_t."""
    from tffnoise.noise import rng

    return rng.fold_all(learner_keys, STEP_STREAM, step_t)

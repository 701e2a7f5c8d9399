"""Tiny CNN problems for the CNN tests: digits as 8×8×1 images (real data, embedded; no download),
cnn-small at a width giving 3, 6 and 12 filters."""
from __future__ import annotations

import dataclasses

from tffnoise.config import load_config

CNN = ['data.source="digits"', "data.clients=3", "data.examples_per_client=12", "data.test_examples=30",
       'model.architecture="cnn-small"', "model.width=0.05", "training.batch_size=4", "training.sync_period=2",
       "training.rounds=2", "training.learning_rate=0.05", "experiment.seed=3"]
# every mechanism on at once (input, hidden, weights, gradient, label) and dropout
NOISY = ["noise.input.level=0.1", "noise.hidden.level=0.2", "noise.weights.level=0.02", 'noise.weights.schedule="sync"',
         "noise.gradient.level=0.05", "noise.label.level=0.2", "model.dropout=0.2"]


def images(seed: int = 0):
    """The digits dataset with its 64 features as 8×8×1 images."""
    from tffnoise.data import load_dataset

    ds = load_dataset("digits", seed=seed)
    shape = lambda a: a.reshape(len(a), 8, 8, 1)  # noqa: E731
    return dataclasses.replace(ds, x_train=shape(ds.x_train), x_test=shape(ds.x_test))


def problem(overrides=(), repeats=(0, 1)):
    from tffnoise.algorithms.problem import prepare

    return prepare(load_config(None, CNN + list(overrides)), list(repeats), dataset=images())

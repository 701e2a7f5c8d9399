"""What the strong attacks read from a model: its probability of the true label, or that on a logit scale.

One place for both, so LiRA, RMIA and the audit score the same quantity the same way.
"""
from __future__ import annotations

import numpy as np

from tffnoise.errors import UserError

# The loss attack's clip (mia.MIN_PROB), so a confident wrong answer stays finite here too.
MIN_PROB = 1e-12


def true_probability(probs, labels) -> np.ndarray:
    """p[..., label] for probabilities shaped (..., examples, classes) and labels (examples,)."""
    probs, labels = np.asarray(probs, dtype=float), np.asarray(labels)
    if probs.ndim < 2 or probs.shape[-2] != labels.shape[0] or labels.ndim != 1:
        raise UserError(f"probs: shape {probs.shape} does not match labels {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= probs.shape[-1]):
        raise UserError(f"labels: need class indices in [0, {probs.shape[-1] - 1}]")
    index = np.broadcast_to(labels.astype(int)[:, None], probs.shape[:-1] + (1,))
    return np.take_along_axis(probs, index, axis=-1)[..., 0]


def logit_confidence(probs, labels) -> np.ndarray:
    """phi = log(p / (1 - p)) of the true class (Carlini et al. 2022, Sec. IV-B): on this scale a model's
    confidence across retrainings is close to Gaussian, which LiRA's fits assume. 1 - p is summed over
    the other classes' probabilities, so it does not cancel to 0 when p rounds to 1."""
    probs = np.asarray(probs, dtype=float)
    p = true_probability(probs, labels)
    rest = probs.sum(axis=-1) - p
    return np.log(np.clip(p, MIN_PROB, None)) - np.log(np.clip(rest, MIN_PROB, None))

"""Generated stand-ins shaped like each real source, for runs and tests where the real files are absent.

Everything that defines the task (the SUSY-like teacher, the class image patterns) is fixed, so every seed poses the
same problem; `seed` only draws the examples. Each component has its own random stream, so the first n examples
are the same whatever size is asked for. Outputs of runs on these must say SYNTHETIC: the Dataset carries the flag.
"""

from __future__ import annotations

import numpy as np

from .dataset import Dataset

SOURCES = ("susy", "mnist", "fashion-mnist", "cifar10")
DEFAULT_TRAIN, DEFAULT_TEST = 4000, 1000
_TRAIN, _TEST = 0, 1  # stream ids so train and test never share random draws


def make(source: str, train_size: int | None = None, test_size: int | None = None, seed: int = 0) -> Dataset:
    if source not in SOURCES:
        raise ValueError(f"no synthetic stand-in for {source!r}")
    n_train = DEFAULT_TRAIN if train_size is None else train_size
    n_test = DEFAULT_TEST if test_size is None else test_size
    draw = _susy_like if source == "susy" else _images
    x_train, y_train = draw(source, n_train, np.random.SeedSequence([seed, _TRAIN]))
    x_test, y_test = draw(source, n_test, np.random.SeedSequence([seed, _TEST]))
    unit = "rows" if source == "susy" else "images"
    return Dataset(
        name=f"{source}-synthetic",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        num_classes=2 if source == "susy" else 10,
        synthetic=True,
        train_ids=np.arange(n_train, dtype=np.int64),
        test_ids=np.arange(n_test, dtype=np.int64),
        source_paths=(),
        description=f"SYNTHETIC {_KINDS[source]}, seed {seed}: {n_train} train / {n_test} test {unit}",
    )


_KINDS = {
    "susy": "SUSY-like stand-in (18 features, 2 classes, fixed nonlinear teacher)",
    "mnist": "MNIST-shaped stand-in (28x28x1, 10 classes, stroke patterns + noise)",
    "fashion-mnist": "Fashion-MNIST-shaped stand-in (28x28x1, 10 classes, silhouette patterns + noise)",
    "cifar10": "CIFAR-10-shaped stand-in (32x32x3, 10 classes, colour patterns + noise)",
}


# --- SUSY-like: 18 standard-normal features; the label is a noisy threshold of a fixed nonlinear score.
# Tuned so a small sigmoid MLP reaches about 74-80% test accuracy and logistic regression about 70%
# (the Bayes rate is about 80%): the nonlinear part is what a linear model cannot use.
SUSY_FEATURES = 18
_TEACHER = np.random.default_rng(20240611)
_W1 = _TEACHER.normal(size=(SUSY_FEATURES, 16)) * (2.0 / np.sqrt(SUSY_FEATURES))
_B1 = _TEACHER.normal(size=16) * 0.5
_W2 = _TEACHER.normal(size=16) / 4.0
_WLIN = _TEACHER.normal(size=SUSY_FEATURES) / np.sqrt(SUSY_FEATURES)
_LABEL_NOISE = 0.4  # scale of the logistic noise on the standardised score


def _teacher_score(x: np.ndarray) -> np.ndarray:
    hidden = np.tanh(x @ _W1 + _B1) @ _W2
    return 0.6 * (x @ _WLIN) + 1.5 * hidden + 0.8 * x[:, 0] * x[:, 1] + 0.5 * (x[:, 2] ** 2 - 1)


# Centre and scale from a fixed reference sample, so classes are balanced and the noise level means the same thing.
_REF = _teacher_score(np.random.default_rng(0).normal(size=(20_000, SUSY_FEATURES)))
_CENTRE, _SCALE = float(np.median(_REF)), float(_REF.std())


def _susy_like(source: str, n: int, seq: np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
    features, noise = (np.random.default_rng(s) for s in seq.spawn(2))
    x = features.normal(size=(n, SUSY_FEATURES))
    score = (_teacher_score(x) - _CENTRE) / _SCALE
    y = score + _LABEL_NOISE * noise.logistic(size=n) > 0
    return x.astype(np.float32), y.astype(np.int32)


# --- Images: each class has a fixed pattern; an example is its class pattern, shifted by a few pixels, with random
# per-channel contrast and brightness, a fainter pattern of another class mixed in, and pixel noise, clipped to [0, 1].
_IMAGE_SHAPES = {"mnist": (28, 28, 1), "fashion-mnist": (28, 28, 1), "cifar10": (32, 32, 3)}
_PATTERN_SEEDS = {"mnist": 1001, "fashion-mnist": 1002, "cifar10": 1003}
_PATTERN_CACHE: dict[str, np.ndarray] = {}
# (max shift in pixels, weight of the other class's pattern, pixel noise sd): CIFAR-shaped is made the hardest,
# as the real CIFAR-10 is, mostly through larger shifts that a linear model cannot undo.
_DIFFICULTY = {"mnist": (2, 0.35, 0.2), "fashion-mnist": (2, 0.45, 0.2), "cifar10": (4, 0.6, 0.3)}


def _patterns(source: str) -> np.ndarray:
    """(10, H, W, C) fixed class patterns in [0, 1]: smooth random waves, thresholded into shapes for the grey sets."""
    if source not in _PATTERN_CACHE:
        h, w, c = _IMAGE_SHAPES[source]
        rng = np.random.default_rng(_PATTERN_SEEDS[source])
        i, j = np.meshgrid(np.arange(h) / h, np.arange(w) / w, indexing="ij")
        waves = np.zeros((10, h, w, c))
        for _ in range(4):
            freq = rng.uniform(0.5, 3.0, size=(10, 1, 1, c, 2))
            phase = rng.uniform(0, 2 * np.pi, size=(10, 1, 1, c))
            amp = rng.uniform(0.5, 1.0, size=(10, 1, 1, c))
            arg = 2 * np.pi * (freq[..., 0] * i[None, :, :, None] + freq[..., 1] * j[None, :, :, None]) + phase
            waves += amp * np.sin(arg)
        if c == 1:
            # Bright shapes on a dark background inside a centred disc, like a digit or a garment.
            disc = ((i - 0.5) ** 2 + (j - 0.5) ** 2 < 0.36**2)[None, :, :, None]
            cut = 0.8 if source == "mnist" else -0.2  # thin strokes vs filled silhouettes
            patterns = disc / (1 + np.exp(-4 * (waves - cut)))
        else:
            patterns = 0.5 + 0.5 * np.tanh(waves / 2)
        _PATTERN_CACHE[source] = patterns.astype(np.float32)
    return _PATTERN_CACHE[source]


def _images(source: str, n: int, seq: np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
    label_rng, shift_rng, other_rng, contrast_rng, brightness_rng, noise_rng = (
        np.random.default_rng(s) for s in seq.spawn(6)
    )
    patterns = _patterns(source)
    channels = patterns.shape[-1]
    max_shift, mix, noise_sd = _DIFFICULTY[source]
    y = label_rng.integers(0, 10, size=n)
    shifts = shift_rng.integers(-max_shift, max_shift + 1, size=(n, 2))
    other = (y + 1 + other_rng.integers(0, 9, size=n)) % 10
    contrast = contrast_rng.uniform(0.6, 1.2, size=(n, 1, 1, channels)).astype(np.float32)
    brightness = brightness_rng.normal(0.0, 0.1, size=(n, 1, 1, channels)).astype(np.float32)
    x = contrast * patterns[y] + np.float32(mix) * patterns[other] + brightness
    for k in range(n):
        x[k] = np.roll(x[k], tuple(shifts[k]), axis=(0, 1))
    x += np.float32(noise_sd) * noise_rng.standard_normal(size=x.shape, dtype=np.float32)
    return np.clip(x, 0.0, 1.0, out=x), y.astype(np.int32)

"""Your own data: `data.source = "package.module:function"`.

Contract: `function(seed: int) -> dict` with
    x_train, x_test: float arrays, shape (N, ...) (features or images, any scale you choose)
    y_train, y_test: integer class labels 0..num_classes-1, shape (N,)
    num_classes (optional): int, default max label + 1
    name (optional): str;  train_ids / test_ids (optional): int arrays naming each example in your source
The function must not download anything at run time; it is called once per experiment seed.
"""
from __future__ import annotations

import numpy as np

from tffnoise.data.dataset import Dataset
from tffnoise.errors import UserError

FIELD = "data.source"


def load_callable(path: str, field: str):
    """Import 'package.module:function'; the working directory is importable, as with `python -m`."""
    import importlib
    import os
    import sys

    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise UserError(f"{field}: {path!r} is not 'package.module:function'")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any failure inside the user's module is theirs to see
        raise UserError(f"{field}: cannot import {module_name!r} ({type(exc).__name__}: {exc})") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise UserError(f"{field}: module {module_name!r} has no function {attr!r}")
    return fn


def load_plugin_dataset(path: str, cfg, seed: int) -> Dataset:
    fn = load_callable(path, FIELD)
    try:
        out = fn(int(seed))
    except Exception as exc:
        raise UserError(f"{FIELD}: {path} raised {type(exc).__name__}: {exc}") from None
    if not isinstance(out, dict):
        raise UserError(f"{FIELD}: {path} returned {type(out).__name__}; the contract is a dict with x_train, y_train, x_test, y_test")
    missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in out]
    if missing:
        raise UserError(f"{FIELD}: {path} returned no {', '.join(missing)} (contract: x_train, y_train, x_test, y_test)")
    arrays = {}
    for split in ("train", "test"):
        x, y = np.asarray(out[f"x_{split}"]), np.asarray(out[f"y_{split}"])
        if x.ndim < 2 or len(x) == 0:
            raise UserError(f"{FIELD}: {path} x_{split} has shape {x.shape}; expected (N, features...) with N > 0")
        if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer) or (y < 0).any():
            raise UserError(f"{FIELD}: {path} y_{split} must be non-negative integer labels of shape ({len(x)},), got {y.dtype} {y.shape}")
        if not np.isfinite(x).all():
            raise UserError(f"{FIELD}: {path} x_{split} has NaN or infinite values")
        ids = np.asarray(out.get(f"{split}_ids", np.arange(len(x))), dtype=np.int64)
        arrays[split] = (x.astype(np.float32), y.astype(np.int32), ids)
    if arrays["train"][0].shape[1:] != arrays["test"][0].shape[1:]:
        raise UserError(f"{FIELD}: {path} x_train and x_test have different example shapes")
    num_classes = int(out.get("num_classes", max(arrays["train"][1].max(), arrays["test"][1].max()) + 1))
    name = str(out.get("name", path))
    return Dataset(name=name, x_train=arrays["train"][0], y_train=arrays["train"][1], x_test=arrays["test"][0],
                   y_test=arrays["test"][1], num_classes=num_classes, synthetic=bool(out.get("synthetic", False)),
                   train_ids=arrays["train"][2], test_ids=arrays["test"][2], source_paths=(),
                   description=f"plug-in {path}: {len(arrays['train'][0])} train / {len(arrays['test'][0])} test")

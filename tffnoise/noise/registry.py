"""Config name -> mechanism class. The only place to touch (besides the mechanism's own module)
when adding a mechanism. Kept free of TensorFlow imports so config validation and the TUI stay light."""
from __future__ import annotations

import importlib

MECHANISMS = {
    "weights": ("tffnoise.noise.weights", "WeightNoise"),
    "gradient": ("tffnoise.noise.gradients", "GradientNoise"),
    "label": ("tffnoise.noise.labels", "LabelNoise"),
    "input": ("tffnoise.noise.hidden", "InputNoise"),
    "hidden": ("tffnoise.noise.hidden", "HiddenNoise"),
}


def build(noise: dict) -> list:
    """Mechanism objects for a config's `noise` table, in a fixed order."""
    out = []
    for name in MECHANISMS:
        if name in noise:
            module, cls = MECHANISMS[name]
            out.append(getattr(importlib.import_module(module), cls)(name, noise[name]))
    return out

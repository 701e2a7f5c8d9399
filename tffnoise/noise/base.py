"""What a noise mechanism is: a small object with hooks the training loop chains, optax-style.

Each hook is pure: it gets the values, the learner keys (int64 [K], one per learner on the learner axis:
K = repeats × learners in the stacked engine, K = 1 in the TFF engine's client), the counter and the
level, and returns new values; a mechanism object holds no per-cell value that changes at run time. A mechanism that does not act at a hook
inherits the identity. Adding a mechanism means one module with a subclass and one registry entry.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Mechanism:
    name: str
    spec: object  # tffnoise.config.NoiseSpec

    # Where the mechanism acts, for the README table and reports.
    where = ""
    paper = ""

    # Every hook gets the cell's level explicitly: a float32 scalar tensor (the compiled round's runtime
    # input, so one compiled round serves every level of a sweep) or a Python float. Structural fields
    # (distribution, schedule, decay, gamma, whether the level is 0) are read from `spec`.
    def on_round_start(self, params, keys, round_t, level):
        """Weights as broadcast at the start of a round (before the first local step)."""
        return params

    def on_step_params(self, params, keys, step_t, level):
        """Weights right before a local update is computed on them."""
        return params

    def on_gradients(self, grads, keys, step_t, level):
        return grads

    def on_labels(self, y, keys, step_t, num_classes: int, level):
        return y

    def layer_kwargs(self) -> dict | None:
        """Noise layers the model builder inserts (input/hidden mechanisms)."""
        return None

    def describe(self) -> dict:
        s = self.spec
        return {"mechanism": self.name, "distribution": s.distribution, "level": s.level,
                "schedule": s.schedule, "decay": s.decay}

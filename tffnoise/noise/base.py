"""What a noise mechanism is: a small object with hooks the training loop chains, optax-style.

Each hook is pure: it gets the values, the learner keys (int64, one per stacked learner, or a scalar
in the TFF engine) and the counter, and returns new values. A mechanism that does not act at a hook
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
    # A tensor standing for the level while the stacked engine traces a round, so one compiled round
    # serves every level of a sweep; None means the spec's number.
    runtime_level = None

    @property
    def level(self):
        return self.spec.level if self.runtime_level is None else self.runtime_level

    def on_round_start(self, params, keys, round_t):
        """Weights as broadcast at the start of a round (before the first local step)."""
        return params

    def on_step_params(self, params, keys, step_t):
        """Weights right before a local update is computed on them."""
        return params

    def on_gradients(self, grads, keys, step_t):
        return grads

    def on_labels(self, y, keys, step_t, num_classes: int):
        return y

    def layer_kwargs(self) -> dict | None:
        """Noise layers the model builder inserts (input/hidden mechanisms)."""
        return None

    def describe(self) -> dict:
        s = self.spec
        return {"mechanism": self.name, "distribution": s.distribution, "level": s.level,
                "schedule": s.schedule, "decay": s.decay}

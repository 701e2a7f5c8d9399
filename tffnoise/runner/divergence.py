"""When a run has diverged: a non-finite loss or weights (the engines report it per round), or a training
loss that stays far above where it started.

Float overflow alone misses runs whose loss runs away but stays finite (a linear model with squared loss at
too large a step grows by orders of magnitude before it overflows, if it ever does). The reference is the
first round's training loss; `training.divergence_factor` (0 = off) and `training.divergence_rounds` say
how far above it, for how many rounds in a row, a run is given up.
"""
from __future__ import annotations

import math


class DivergenceWatch:
    """One run's divergence state; rebuilt from its metrics history on resume, so a resumed run is judged
    exactly as an uninterrupted one."""

    def __init__(self, factor: float, rounds: int, history: list[dict] = ()):
        self.factor, self.rounds = float(factor), int(rounds)
        self.first: float | None = None
        self.streak = 0
        for row in history:
            if not row.get("diverged"):
                self.update(row.get("train_loss"))

    def update(self, train_loss) -> str | None:
        """The reason the run diverged at this round, or None."""
        if train_loss is None or not math.isfinite(train_loss):
            return "non-finite training loss"
        if self.first is None:
            self.first = float(train_loss)
            return None
        if self.factor <= 0 or self.first <= 0:
            return None
        self.streak = self.streak + 1 if train_loss > self.factor * self.first else 0
        if self.streak >= self.rounds:
            return (f"training loss above {self.factor:g} × its first-round value {self.first:.4g} "
                    f"for {self.streak} rounds (now {train_loss:.4g})")
        return None

"""The checkpoint layout both engines share, so a run checkpointed by one resumes on the other:
`round`; per learner (leading axis repeats × learners): `params_j`, `cum_loss`; per repeat: `server_j`,
`momentum_j`. A cell's state splits into one checkpoint per repeat (each run resumes on its own)."""
from __future__ import annotations

import numpy as np

PER_LEARNER = ("params_", "cum_loss")
PER_REPEAT = ("server_", "momentum_")


def split_states(st: dict, repeats: int, learners: int) -> list[dict]:
    out = []
    for ri in range(repeats):
        d = {"round": st["round"]}
        for k, v in st.items():
            if k.startswith(PER_LEARNER):
                d[k] = v[ri * learners:(ri + 1) * learners]
            elif k.startswith(PER_REPEAT):
                d[k] = v[ri:ri + 1]
        out.append(d)
    return out


def join_states(states: list[dict]) -> dict:
    rounds = {int(s["round"]) for s in states}
    if len(rounds) != 1:
        raise ValueError(f"checkpoints at different rounds {sorted(rounds)} cannot resume as one cell")
    out = {"round": states[0]["round"]}
    for k in states[0]:
        if k != "round":
            out[k] = np.concatenate([s[k] for s in states])
    return out

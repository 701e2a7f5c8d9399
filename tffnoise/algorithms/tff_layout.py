"""The shapes, types and client-placed data of one problem's TFF process (tff_process.py), the same for
every repeat."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tffnoise.algorithms.problem import Problem


@dataclass
class DpSettings:
    """The resolved `[privacy]` of a DP run (z after privacy.target_epsilon, see dp.resolve_noise_multiplier)."""

    mode: str                         # 'dp-sgd' or 'dp-fedavg'
    noise_multiplier: float           # z
    clip: float                       # C
    microbatches: int = 0             # dp-sgd: the number of microbatches per batch (a divisor of B)
    clients_per_round: int = 0        # dp-fedavg: k, the denominator of the noisy mean


def dp_settings(problem: Problem) -> DpSettings | None:
    """None without DP; else the settings, resolved and validated by dp.py's own classes."""
    pv = problem.cfg.privacy
    if pv.mode == "none":
        return None
    from tffnoise.algorithms import dp

    if pv.mode == "dp-sgd":
        d = dp.DpSgd.for_problem(pv, problem)
        return DpSettings("dp-sgd", float(d.z), float(d.clip), microbatches=int(d.mb))
    d = dp.DpFedAvg.for_problem(pv, problem)
    return DpSettings("dp-fedavg", float(d.z), float(d.clip),
                      clients_per_round=int(problem.cfg.training.clients_per_round or problem.learners))


@dataclass
class ProcessLayout:
    """Shapes and flags of one problem's process (the same for every repeat)."""

    protocol: str
    learners: int                     # M
    steps: int                        # b
    batch: int                        # B
    input_shape: tuple
    y_dtype: np.dtype
    weight_shapes: list               # Keras order, without any learner axis
    weight_dtypes: list
    trainable: list                   # per weight: updated by SGD (else by the layer, e.g. BN statistics)
    privacy: DpSettings | None = None  # DP-SGD / DP-FedAvg, or None

    @property
    def dp_sgd(self) -> bool:
        return self.privacy is not None and self.privacy.mode == "dp-sgd"

    @property
    def dp_fedavg(self) -> bool:
        return self.privacy is not None and self.privacy.mode == "dp-fedavg"

    @property
    def stacked_models(self) -> bool:
        """No-sync keeps every learner's model in the server state (leading axis M)."""
        return self.protocol == "no-sync"


def layout(problem: Problem) -> ProcessLayout:
    model = problem.model_fn(0)
    trainable_ids = {id(v) for v in model.trainable_weights}
    return ProcessLayout(
        protocol=problem.cfg.training.protocol, learners=problem.learners, steps=problem.steps_per_round,
        batch=problem.cfg.training.batch_size, input_shape=tuple(problem.input_shape),
        y_dtype=np.dtype(problem.y_clients.dtype),
        weight_shapes=[tuple(int(d) for d in v.shape) for v in model.weights],
        weight_dtypes=[np.dtype(v.dtype.as_numpy_dtype) for v in model.weights],
        trainable=[id(v) in trainable_ids for v in model.weights], privacy=dp_settings(problem))


def initial_state(problem: Problem, lay: ProcessLayout, ri: int) -> dict:
    """Repeat ri's state before round 1 (the value `initialize` returns for ri = 0)."""
    M = lay.learners
    w0 = [np.asarray(w[ri], dtype) for w, dtype in zip(problem.init_weights, lay.weight_dtypes)]
    model = [np.repeat(w[None], M, axis=0) for w in w0] if lay.stacked_models else w0
    return {"round": np.int64(0), "model": model, "momentum": [np.zeros_like(w) for w in w0],
            "cum_loss": np.zeros(M, np.float32)}


def client_data_type(lay: ProcessLayout):
    import tensorflow_federated as tff

    return tff.StructWithPythonType([
        ("x", tff.TensorType(np.float32, [lay.steps, lay.batch, *lay.input_shape])),
        ("y", tff.TensorType(lay.y_dtype.type, [lay.steps, lay.batch])),
        ("key", tff.TensorType(np.int64)),
        ("slot", tff.TensorType(np.int32)),
        ("sel", tff.TensorType(np.float32)),
    ], dict)


def client_data(problem: Problem, ri: int, t: int, selection: np.ndarray) -> list[dict]:
    """The M client-placed values for round t (1-based) of repeat ri."""
    b, M = problem.steps_per_round, problem.learners
    if not 1 <= t <= problem.rounds:
        raise ValueError(f"round {t} is outside this problem's 1..{problem.rounds} rounds")
    order = problem.order[ri, :, (t - 1) * b: t * b]          # [M, b, B]
    out = []
    for i in range(M):
        out.append({"x": np.ascontiguousarray(problem.x_clients[ri, i][order[i]], np.float32),
                    "y": np.ascontiguousarray(problem.y_clients[ri, i][order[i]]),
                    "key": np.int64(problem.learner_keys[ri, i]), "slot": np.int32(i),
                    "sel": np.float32(selection[t - 1, ri, i])})
    return out

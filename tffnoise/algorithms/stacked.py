"""The stacked engine: Algorithm 1 and its baselines with every learner of every repeat as one leading
tensor axis, so one round of K = repeats × learners models is a handful of batched ops.

On a CPU a compiled program runs on one thread, so a cell's repeats are split into equal groups that run
in parallel threads (`execution.threads`, groups.py), and one call runs every round up to the next
evaluation: the state stays inside XLA between rounds (round_program.py; docs/performance.md has the
measurements behind both).

The round is client_update.py's, the one the TFF engine's clients run; semantics match the TFF engine
exactly (same data order, keys, noise, loss); tests check it.
"""
from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from tffnoise.algorithms import checkpoint
from tffnoise.algorithms.forward import forward_shared
from tffnoise.algorithms.groups import Group, each_group, thread_groups  # noqa: F401 (thread_groups re-exported)
from tffnoise.algorithms.plan import layer_levels, stack_plan
from tffnoise.algorithms.problem import Problem
from tffnoise.algorithms.round_program import ROUNDS_PER_CALL, compiled_eval, uses_xla
# Importers read these from here (both engines, the runner, privacy evaluation).
from tffnoise.algorithms.selection import (client_selection, evaluates_every_learner, nosync_pick,  # noqa: F401
                                          per_repeat_metrics, trained_examples)

EVAL_CHUNK = 8192          # most examples one evaluation call takes
EVAL_FLOATS = 2**26        # most floats of one layer's activations in an evaluation call (256 MiB)


def eval_chunk(widest: int, models: int) -> int:
    """Examples per evaluation call: EVAL_CHUNK, fewer where a layer of `models` models on that many
    examples would pass EVAL_FLOATS (a CNN's first convolution holds H·W·F floats per example)."""
    return int(max(16, min(EVAL_CHUNK, EVAL_FLOATS // max(1, widest * models))))


_PLANS: dict = {}


def plan_for(problem: Problem) -> tuple:
    """(the model's stacked forward plan, the levels of its noise layers by stream). It depends on the
    model, noise layers and shapes only, so cells of a sweep share it (building the Keras model to read
    it costs tens of milliseconds). Also the widest layer output, floats per example (`eval_chunk`)."""
    cfg = problem.cfg
    key = (repr(cfg.model), repr(sorted(cfg.noise.items())), tuple(problem.input_shape), problem.num_classes)
    if key not in _PLANS:
        if len(_PLANS) > 256:
            _PLANS.clear()
        model = problem.model_fn(0)
        widest = max(int(np.prod(layer.output_shape[1:])) for layer in model.layers)
        _PLANS[key] = (stack_plan(model), layer_levels(model), widest)
    return _PLANS[key]


class StackedEngine:
    name = "stacked"

    def __init__(self, problem: Problem):
        self.p = problem
        cfg = problem.cfg
        self.R, self.M = len(problem.repeats), problem.learners
        self.K = self.R * self.M
        self.plan, self._layer_levels, self._widest = plan_for(problem)
        self.selection = client_selection(problem)
        self.protocol = cfg.training.protocol
        self.round = 0
        self.dp_sgd = self.dp_fedavg = None
        if cfg.privacy.mode == "dp-sgd":
            from tffnoise.algorithms.dp import DpSgd

            self.dp_sgd = DpSgd.for_problem(cfg.privacy, problem)
        elif cfg.privacy.mode == "dp-fedavg":
            from tffnoise.algorithms.dp import DpFedAvg

            self.dp_fedavg = DpFedAvg.for_problem(cfg.privacy, problem)
        dp = self.dp_sgd or self.dp_fedavg
        self.noise_multiplier = dp.z if dp is not None else None
        G, size = thread_groups(self.R, cfg.execution.threads, uses_xla(self.plan))
        self.groups = [Group(self, g * size, min(self.R, (g + 1) * size), size) for g in range(G)]
        self._every_learner = evaluates_every_learner(cfg)
        self.eval_chunk = eval_chunk(self._widest, (self.M if self._every_learner else 1) * size)
        self._set_initial_state()
        self._eval_fn = compiled_eval(problem, self.plan)
        self._eval_sets: dict = {}

    def _set_initial_state(self) -> None:
        """Round 0: every learner and the server at its repeat's initial weights. Built per group from its
        repeats' weights, not as the whole cell's checkpoint layout cut into groups (an M× copy of the
        weights, copied again per group: 1.1 s of a 10 × 10 MNIST-MLP cell's setup)."""
        self.round = 0
        for g in self.groups:
            init = [w[g.rows] for w in self.p.init_weights]
            g.state = {"cum_loss": tf.zeros([g.K], tf.float32),
                       "params": [tf.constant(np.repeat(w, self.M, axis=0)) for w in init],
                       "server": [tf.constant(w) for w in init], "momentum": [tf.zeros(w.shape, w.dtype) for w in init]}

    def _rows_per_repeat(self, name: str) -> int:
        """Rows of state tensor `name` per repeat: one server model, or one row per learner."""
        return 1 if name in ("server", "momentum") else self.M

    # --- the cell's tensors, whole (tests and the DP checks read them) ---------------------------------
    def _joined(self, part: str, name: str):
        per = self._rows_per_repeat(name)
        vals = []
        for g in self.groups:
            v = getattr(g, part)[name]
            vals.append([g.real_part(w, per) for w in v] if isinstance(v, list) else g.real_part(v, per))
        if len(vals) == 1:
            return vals[0]
        if isinstance(vals[0], list):
            return [tf.concat(ws, 0) for ws in zip(*vals)]
        return tf.concat(vals, 0)

    params = property(lambda self: self._joined("state", "params"))
    server = property(lambda self: self._joined("state", "server"))
    momentum = property(lambda self: self._joined("state", "momentum"))
    cum_loss = property(lambda self: self._joined("state", "cum_loss"))
    x = property(lambda self: self._joined("data", "x"))
    y = property(lambda self: self._joined("data", "y"))
    order = property(lambda self: self._joined("data", "order"))
    keys = property(lambda self: self._joined("data", "keys"))

    @property
    def device(self) -> str:
        """Where the cell's compiled rounds ran (the device of their state, e.g. CPU:0 or GPU:0): the run
        record's `device`. Nothing in the program is pinned, so TensorFlow's placement decides."""
        return self.groups[0].state["params"][0].device.rsplit("device:", 1)[-1]

    # --- training -------------------------------------------------------------------------------
    def _hyper(self) -> dict:
        """The round's runtime inputs (round_key.RUNTIME), what differs between cells of a sweep: learning
        rates and noise levels, by mechanism name and by noise-layer stream (a plug-in model's own noise
        layers keep their level; a configured input/hidden mechanism sets its layers')."""
        tr = self.p.cfg.training
        f32 = lambda v: tf.constant(v, tf.float32)  # noqa: E731
        levels = {**self._layer_levels, **{m.name: m.spec.level for m in self.p.mechanisms}}
        return {"lr": f32(tr.learning_rate), "server_lr": f32(tr.server_learning_rate),
                "server_momentum": f32(tr.server_momentum), "levels": {k: f32(v) for k, v in levels.items()}}

    def _each_group(self, fn, what) -> list:
        return each_group(self.groups, fn, what)

    def run_round(self) -> dict:
        return self.run_rounds(1)[0]

    def run_rounds(self, n: int) -> list[dict]:
        """The next n rounds; one metrics dict (arrays over repeats) per round."""
        out: list[dict] = []
        hyper = self._hyper()
        while len(out) < n:
            k = min(n - len(out), ROUNDS_PER_CALL)
            t0 = self.round
            per_group = self._each_group(lambda g: g.run(t0, k, hyper), self.groups[0].program)
            self.round += k
            out += [{name: np.concatenate([m[name][i] for m in per_group]) for name in per_group[0]} for i in range(k)]
        return out

    # --- evaluation -----------------------------------------------------------------------------
    def _eval_set(self, key, x, y) -> tuple[int, list]:
        """The evaluation set as equal-sized tensors, built once: one traced shape, no copy per evaluation
        (the last chunk is padded with its first example and masked out)."""
        if key is None or key not in self._eval_sets:
            n = len(x)
            parts = max(1, math.ceil(n / self.eval_chunk))
            size = math.ceil(n / parts)
            pad = parts * size - n
            if pad:
                x = np.concatenate([x, np.repeat(x[:1], pad, 0)])
                y = np.concatenate([y, np.repeat(y[:1], pad, 0)])
            valid = np.arange(parts * size) < n
            built = (n, [(tf.constant(x[i:i + size]), tf.constant(y[i:i + size]), tf.constant(valid[i:i + size]))
                         for i in range(0, parts * size, size)])
            if key is None:
                return built
            self._eval_sets[key] = built
        return self._eval_sets[key]

    def _evaluate_models(self, params, x, y, key=None) -> tuple[np.ndarray, np.ndarray]:
        n, chunks = self._eval_set(key, x, y)
        loss = np.zeros(params[0].shape[0])
        corr = np.zeros(params[0].shape[0])
        for xc, yc, vc in chunks:
            l, c = self._eval_fn(params, xc, yc, vc)
            loss += l.numpy()
            corr += c.numpy()
        return loss / n, corr / n

    def _eval_name(self) -> str:
        return "server" if self.protocol in ("periodic-averaging", "fedavg") else "params"

    def eval_params(self) -> list:
        """One model per repeat: the averaged model (PA/fedavg), the serial model; no-sync: all learners."""
        return self._joined("state", self._eval_name())

    def evaluate(self, split: str = "test") -> dict:
        p = self.p
        if split == "test":
            self._eval_set("test", p.x_test, p.y_test)
            name = self._eval_name()

            def one(g):  # the padded group as compiled; the padding's models dropped after
                models, per = self._evaluated(g.state[name], g.rows)
                loss, acc = self._evaluate_models(models, p.x_test, p.y_test, "test")
                return g.real_part(loss, per), g.real_part(acc, per)

            outs = self._each_group(one, self._eval_fn)
            loss, acc = (np.concatenate([o[i] for o in outs]) for i in (0, 1))
            return self._per_repeat(loss, acc, "test")
        if p.x_val is None:
            return {}
        loss_r, acc_r = [], []
        params, per = self._evaluated(self.eval_params(), range(self.R))
        for ri in range(self.R):
            sub = [w[ri * per:(ri + 1) * per] for w in params]
            l, a = self._evaluate_models(sub, p.x_val[ri], p.y_val[ri], ("val", ri))
            loss_r.append(l)
            acc_r.append(a)
        return self._per_repeat(np.concatenate(loss_r), np.concatenate(acc_r), "val")

    def _per_repeat(self, loss, acc, prefix) -> dict:
        return per_repeat_metrics(self.p, loss, acc, prefix)

    def predict_proba(self, x: np.ndarray, every_learner: bool = False) -> np.ndarray:
        """[R, N, out] outputs of each repeat's evaluated model (for membership inference); no-sync with
        `every_learner`: [R, M, N, out], each learner's (independent models: the no-sync reference models)."""
        params = self.eval_params()
        step = eval_chunk(self._widest, params[0].shape[0])
        outs = [forward_shared(self.plan, params, tf.constant(x[i:i + step])).numpy() for i in range(0, len(x), step)]
        out = np.concatenate(outs, axis=1)
        if self.protocol == "no-sync":
            out = out.reshape((self.R, self.M) + out.shape[1:])
            if not every_learner:
                out = out[np.arange(self.R), nosync_pick(self.p)]
        return out

    def predict_proba_each(self, xs: list) -> list:
        """Repeat ri's evaluated model on its own examples xs[ri] ([N_ri, out] each): what the attacks
        need, without running every model on every repeat's examples (R× the work; no-sync: R·M×). Equal
        to `predict_proba`'s rows to float32 rounding (another GEMM shape), not bit for bit."""
        step = eval_chunk(self._widest, 1)
        out = []
        for ri, x in enumerate(xs):
            one = [w[None] for w in self._model_of(ri)]
            out.append(np.concatenate([forward_shared(self.plan, one, tf.constant(x[j:j + step])).numpy()[0]
                                       for j in range(0, max(len(x), 1), step)]))
        return out

    # --- state ----------------------------------------------------------------------------------
    def final_weights(self, ri: int) -> list[np.ndarray]:
        """Keras-ordered weights of repeat ri's evaluated model."""
        return [w.numpy() for w in self._model_of(ri)]

    def _model_of(self, ri: int) -> list:
        """Repeat ri's evaluated model, read from the group that holds it: its one model, or for no-sync
        the learner `nosync_pick` chose (the model the attacks, the saved model and the weights all
        mean). Not from `eval_params()`, which joins every group's models (a copy of the cell per call)."""
        name = self._eval_name()
        per = self._rows_per_repeat(name)
        for g in self.groups:
            if ri in g.rows[:g.real]:
                i = g.rows.index(ri) * per + self._picked(ri)
                return [w[i] for w in g.state[name]]
        raise IndexError(f"repeat index {ri} not in this cell's {self.R} repeats")

    def _picked(self, ri: int) -> int:
        """Repeat ri's evaluated learner among its rows of `params`: no-sync's picked one, else row 0."""
        return int(nosync_pick(self.p)[ri]) if self.protocol == "no-sync" else 0

    def _evaluated(self, params: list, rows) -> tuple[list, int]:
        """The models `evaluate` measures among `params` (the rows of repeats `rows`), and how many per
        repeat: each repeat's evaluated model, or with every learner evaluated all of them."""
        rows = list(rows)
        per = params[0].shape[0] // len(rows)
        if per == 1 or self._every_learner:
            return params, per
        idx = tf.constant([i * per + self._picked(r) for i, r in enumerate(rows)], tf.int32)
        return [tf.gather(w, idx) for w in params], 1

    def get_state(self) -> dict:
        st = {"round": np.array(self.round), "cum_loss": self.cum_loss.numpy()}
        for name in ("params", "server", "momentum"):
            for j, v in enumerate(getattr(self, name)):
                st[f"{name}_{j}"] = v.numpy()
        return st

    def set_state(self, st: dict) -> None:
        self.round = int(st["round"])
        n = len(self.p.init_weights)
        for g in self.groups:
            def rows(name):  # the group's rows of a whole-cell array; the padding repeats the last repeat
                per = self._rows_per_repeat(name)
                return [r * per + i for r in g.rows for i in range(per)]

            g.state = {"cum_loss": tf.constant(st["cum_loss"][rows("cum_loss")])}
            for name in ("params", "server", "momentum"):
                g.state[name] = [tf.constant(st[f"{name}_{j}"][rows(name)]) for j in range(n)]

    def split_states(self, st: dict) -> list[dict]:
        return checkpoint.split_states(st, self.R, self.M)

    def join_states(self, states: list[dict]) -> dict:
        return checkpoint.join_states(states)

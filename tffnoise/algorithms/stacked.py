"""The stacked engine: Algorithm 1 and its baselines with every learner of every repeat as one leading
tensor axis, so one round of K = repeats × learners models is a handful of batched ops.

Semantics match the TFF engine exactly (same data order, keys, noise, loss); tests check it.
"""
from __future__ import annotations

import math
import os

import numpy as np
import tensorflow as tf

from tffnoise.algorithms import checkpoint
from tffnoise.algorithms import keys as keylib
from tffnoise.algorithms import losses
from tffnoise.algorithms.forward import forward, forward_shared, stack_plan
from tffnoise.algorithms.problem import Problem

EVAL_CHUNK = 8192

# XLA on CPU runs each of the K small per-learner matmuls of a round as an Eigen call; with Eigen's
# thread pool every call pays a dispatch, which dominated rounds (about 2x slower on 2 cores, measured
# in benchmarks/run.py, docs/performance.md). Single-threaded Eigen calls inside the compiled round are
# faster at these sizes. XLA reads XLA_FLAGS once, at its first compilation in the process, so this must
# run before any jit-compiled function; a value the user set is left alone. CPU only: GPUs ignore it.
if "xla_cpu_multi_thread_eigen" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()


def client_selection(problem: Problem) -> np.ndarray:
    """[rounds, R, M] 0/1: which learners count at each round's aggregation (fedavg sampling)."""
    t, cfg = problem.cfg.training, problem.cfg
    R, M = len(problem.repeats), problem.learners
    sel = np.ones((problem.rounds, R, M), np.float32)
    if t.protocol == "fedavg" and t.clients_per_round and t.clients_per_round < M:
        sel[:] = 0
        for ri, r in enumerate(problem.repeats):
            rng = np.random.default_rng(keylib.numpy_seed(cfg.experiment.seed, r, 2))
            for k in range(problem.rounds):
                sel[k, ri, rng.choice(M, t.clients_per_round, replace=False)] = 1
    return sel


def nosync_pick(problem: Problem) -> np.ndarray:
    """The learner paper 1 reports for no-sync: one chosen at random per repeat (seeded)."""
    return np.array([np.random.default_rng(keylib.numpy_seed(problem.cfg.experiment.seed, r, 3)).integers(problem.learners)
                     for r in problem.repeats])


def per_repeat_metrics(problem: Problem, loss: np.ndarray, acc: np.ndarray, prefix: str) -> dict:
    """One value per repeat: the evaluated model's; for no-sync, the picked learner's plus the mean over
    learners (paper 1 reports a random learner)."""
    if problem.cfg.training.protocol == "no-sync":
        R, M = len(problem.repeats), problem.learners
        loss, acc = loss.reshape(R, M), acc.reshape(R, M)
        rows, pick = np.arange(R), nosync_pick(problem)
        return {f"{prefix}_loss": loss[rows, pick], f"{prefix}_accuracy": acc[rows, pick],
                f"{prefix}_accuracy_mean_learner": acc.mean(1), f"{prefix}_loss_mean_learner": loss.mean(1)}
    return {f"{prefix}_loss": loss, f"{prefix}_accuracy": acc}


_COMPILED: dict = {}


def _plan_key(plan, runtime_streams) -> tuple:
    return tuple(op[:2] + ("runtime",) + op[3:] if op[0] == "noise" and op[4] in runtime_streams else op for op in plan)


def compiled_round(engine: "StackedEngine"):
    """The jit-compiled round for the engine's structure. Levels, learning rates, data and state are
    inputs, so the cells of a sweep that differ only in those share one compilation (XLA compiles take
    seconds; a round takes milliseconds). DP runs compile their own (their clip and z are constants)."""
    p = engine.p
    mech_key = tuple((m.name, m.spec.distribution, m.spec.schedule, m.spec.decay, m.spec.gamma, m.spec.level == 0)
                     for m in p.mechanisms)
    streams = {m.name for m in p.mechanisms if m.name in ("input", "hidden")}
    key = (p.steps_per_round, p.num_classes, p.regression, p.loss_kind, p.cfg.training.protocol, engine.R, engine.M,
           _plan_key(engine.plan, streams), mech_key, p.cfg.privacy.mode,
           id(engine) if p.cfg.privacy.mode != "none" else None)
    if key not in _COMPILED:
        if len(_COMPILED) > 64:
            _COMPILED.clear()
        # autograph off: the round is written with tf.while_loop and every hook branches on Python values
        # only, so tracing skips autograph's source conversion of the engine, mechanisms and losses.
        _COMPILED[key] = tf.function(_RoundProgram(engine), jit_compile=True, autograph=False)
    return _COMPILED[key]


def compiled_eval(engine: "StackedEngine"):
    """The traced evaluation of one chunk, shared by every engine with the same model, loss and targets
    (evaluation runs without noise, so noise levels do not matter here)."""
    p = engine.p
    plan = tuple(op[:2] + ("eval",) + op[3:] if op[0] == "noise" else op for op in engine.plan)
    key = ("eval", plan, p.loss_kind, p.regression)
    if key not in _COMPILED:
        kind, regression, eplan = p.loss_kind, p.regression, engine.plan

        def chunk(params, x, y, valid):
            out = forward_shared(eplan, params, x)
            pe = tf.where(valid, losses.per_example(kind, out, y), 0.0)
            corr = tf.where(valid, losses.correct(out, y, regression), 0.0)
            return tf.reduce_sum(pe, -1), tf.reduce_sum(corr, -1)

        _COMPILED[key] = tf.function(chunk, autograph=False, reduce_retracing=True)
    return _COMPILED[key]


class _RoundProgram:
    """One round of Algorithm 1 for K stacked learners, as a function of tensors only (no data held)."""

    def __init__(self, engine: "StackedEngine"):
        p = engine.p
        self.b, self.C, self.regression, self.kind = p.steps_per_round, p.num_classes, p.regression, p.loss_kind
        self.protocol, self.R, self.M, self.K = p.cfg.training.protocol, engine.R, engine.M, engine.K
        self.mechanisms, self.plan = p.mechanisms, engine.plan
        self.dp_sgd, self.dp_fedavg = engine.dp_sgd, engine.dp_fedavg

    def __call__(self, t, st, data, hyper):
        for mech in self.mechanisms:
            mech.runtime_level = hyper["levels"][mech.name]
        try:
            return self._round(t, st, data, hyper)
        finally:
            for mech in self.mechanisms:
                mech.runtime_level = None

    def _round(self, t, st, data, hyper):
        b, C, K, R, M = self.b, self.C, self.K, self.R, self.M
        keys, lr = data["keys"], hyper["lr"]
        levels = hyper["levels"]
        plan = [op[:2] + (levels[op[4]],) + op[3:] if op[0] == "noise" and op[4] in levels else op for op in self.plan]
        t = tf.cast(t, tf.int64)
        params = [v.read_value() for v in st["params"]]
        for mech in self.mechanisms:
            params = mech.on_round_start(params, keys, t)
        zeros = tf.zeros([K])

        def step(s, params, loss_acc, corr_acc, cum):
            g = (t - 1) * b + s + 1
            idx = tf.gather(data["order"], g - 1, axis=1)
            x = tf.gather(data["x"], idx, batch_dims=1)
            y_true = tf.gather(data["y"], idx, batch_dims=1)
            y = y_true
            for mech in self.mechanisms:
                y = mech.on_labels(y, keys, g, 0 if self.regression else C)
            p_eval = params
            for mech in self.mechanisms:
                p_eval = mech.on_step_params(p_eval, keys, g)
            sk = keylib.step_keys(keys, g)
            grads, out, pe, bl = self._gradients(plan, p_eval, x, y, sk, g, keys)
            for mech in self.mechanisms:
                grads = mech.on_gradients(grads, keys, g)
            params = [w - lr * gr for w, gr in zip(p_eval, grads)]
            loss_acc = loss_acc + tf.reduce_mean(pe, -1)
            corr_acc = corr_acc + tf.reduce_mean(losses.correct(out, y_true, self.regression), -1)
            return s + 1, params, loss_acc, corr_acc, cum + bl

        _, params, loss_acc, corr_acc, cum = tf.while_loop(
            lambda s, *_: s < b, step, (tf.constant(0, tf.int64), params, zeros, zeros, zeros))
        params = self._sync(params, t, st, data, hyper)
        for v, w in zip(st["params"], params):
            v.assign(w)
        st["cum_loss"].assign_add(cum)
        per_repeat = lambda a: tf.reduce_mean(tf.reshape(a, [R, M]), 1)  # noqa: E731
        finite = tf.reduce_all(tf.reshape(tf.math.is_finite(loss_acc), [R, M]), 1)
        for w in params:
            finite &= tf.reduce_all(tf.reshape(tf.math.is_finite(w), [R, -1]), 1)
        return {"train_loss": per_repeat(loss_acc) / tf.cast(b, tf.float32),
                "train_accuracy": per_repeat(corr_acc) / tf.cast(b, tf.float32),
                "cumulative_train_loss": per_repeat(st["cum_loss"].read_value()), "finite": finite}

    def _gradients(self, plan, p_eval, x, y, sk, g, keys):
        """Per-learner gradients of the batch loss; DP-SGD replaces them with clipped, noised ones."""
        with tf.GradientTape() as tape:
            tape.watch(p_eval)
            out = forward(plan, p_eval, x, sk, True)
            pe = losses.per_example(self.kind, out, y)
            bl = losses.batch_loss(self.kind, pe)
            total = tf.reduce_sum(bl)
        grads = tape.gradient(total, p_eval)
        if self.dp_sgd is not None:
            grads = self.dp_sgd.private_gradients(self, p_eval, x, y, sk, g, keys)
        return grads, out, pe, bl

    def _sync(self, params, t, st, data, hyper):
        R, M = self.R, self.M
        if self.protocol in ("serial", "no-sync"):
            return params
        server, momentum = st["server"], st["momentum"]
        sel = tf.gather(data["selection"], t - 1)  # [R, M]
        count = tf.reduce_sum(sel, 1)
        means = []
        for w in params:
            shape = tf.shape(w)[1:]
            wr = tf.reshape(w, tf.concat([[R, M], shape], 0))
            selb = tf.reshape(sel, tf.concat([[R, M], tf.ones_like(shape)], 0))
            means.append(tf.reduce_sum(wr * selb, 1) / tf.reshape(count, tf.concat([[R], tf.ones_like(shape)], 0)))
        if self.dp_fedavg is not None:
            means = self.dp_fedavg.private_mean(params, [v.read_value() for v in server], sel, t,
                                                tf.reshape(data["keys"], [R, M])[:, 0])
        out = []
        for j, w in enumerate(params):
            if self.protocol == "fedavg":
                mom = hyper["server_momentum"] * momentum[j] + (means[j] - server[j])
                momentum[j].assign(mom)
                new = server[j] + hyper["server_lr"] * mom
            else:
                new = means[j]
            server[j].assign(new)
            out.append(tf.reshape(tf.repeat(new[:, None], M, axis=1), tf.shape(w)))
        return out


class StackedEngine:
    name = "stacked"

    def __init__(self, problem: Problem):
        self.p = problem
        cfg = problem.cfg
        self.R, self.M = len(problem.repeats), problem.learners
        self.K = self.R * self.M
        self.plan = stack_plan(problem.model_fn(0))
        K, M = self.K, self.M
        xs = problem.x_clients
        self.x = tf.constant(xs.reshape((K,) + xs.shape[2:]))
        self.y = tf.constant(problem.y_clients.reshape((K,) + problem.y_clients.shape[2:]))
        order = problem.order
        self.order = tf.constant(order.reshape((K,) + order.shape[2:]).astype(np.int32))
        self.keys = tf.constant(problem.learner_keys.reshape(K))
        self.selection = tf.constant(client_selection(problem))
        self.protocol = cfg.training.protocol
        self.params = [tf.Variable(np.repeat(w, M, axis=0), name=f"w{j}") for j, w in enumerate(problem.init_weights)]
        self.server = [tf.Variable(w, name=f"s{j}") for j, w in enumerate(problem.init_weights)]
        self.momentum = [tf.Variable(np.zeros_like(w), name=f"m{j}") for j, w in enumerate(problem.init_weights)]
        self.cum_loss = tf.Variable(np.zeros(K, np.float32))
        self.round = 0
        self.dp_sgd = self.dp_fedavg = None
        if cfg.privacy.mode == "dp-sgd":
            from tffnoise.algorithms.dp import DpSgd

            self.dp_sgd = DpSgd(cfg.privacy, problem)
        elif cfg.privacy.mode == "dp-fedavg":
            from tffnoise.algorithms.dp import DpFedAvg

            self.dp_fedavg = DpFedAvg(cfg.privacy, problem)
        dp = self.dp_sgd or self.dp_fedavg
        self.noise_multiplier = dp.z if dp is not None else None
        self._round_fn = compiled_round(self)
        self._eval_fn = compiled_eval(self)
        self._eval_sets: dict = {}

    # --- training -------------------------------------------------------------------------------
    def _tensors(self):
        """Everything a round reads that differs between cells of a sweep: state, data, hyperparameters."""
        tr = self.p.cfg.training
        st = {"params": self.params, "server": self.server, "momentum": self.momentum, "cum_loss": self.cum_loss}
        data = {"x": self.x, "y": self.y, "order": self.order, "keys": self.keys, "selection": self.selection}
        f32 = lambda v: tf.constant(v, tf.float32)  # noqa: E731
        hyper = {"lr": f32(tr.learning_rate), "server_lr": f32(tr.server_learning_rate),
                 "server_momentum": f32(tr.server_momentum),
                 "levels": {m.name: f32(m.spec.level) for m in self.p.mechanisms}}
        return st, data, hyper

    def run_round(self) -> dict:
        self.round += 1
        st, data, hyper = self._tensors()
        out = self._round_fn(tf.constant(self.round, tf.int64), st, data, hyper)
        return {k: v.numpy() for k, v in out.items()}

    # --- evaluation -----------------------------------------------------------------------------
    def _eval_set(self, key, x, y) -> tuple[int, list]:
        """The evaluation set as equal-sized tensors, built once: one traced shape, no copy per evaluation
        (the last chunk is padded with its first example and masked out)."""
        if key is None or key not in self._eval_sets:
            n = len(x)
            parts = max(1, math.ceil(n / EVAL_CHUNK))
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

    def eval_params(self) -> list:
        """One model per repeat: the averaged model (PA/fedavg), the serial model; no-sync: all learners."""
        if self.protocol in ("periodic-averaging", "fedavg"):
            return [v.read_value() for v in self.server]
        return [v.read_value() for v in self.params]

    def evaluate(self, split: str = "test") -> dict:
        p = self.p
        if split == "test":
            x, y = p.x_test, p.y_test
            loss, acc = self._evaluate_models(self.eval_params(), x, y, "test")
            return self._per_repeat(loss, acc, "test")
        if p.x_val is None:
            return {}
        loss_r, acc_r = [], []
        params = self.eval_params()
        per = params[0].shape[0] // self.R
        for ri in range(self.R):
            sub = [w[ri * per:(ri + 1) * per] for w in params]
            l, a = self._evaluate_models(sub, p.x_val[ri], p.y_val[ri], ("val", ri))
            loss_r.append(l)
            acc_r.append(a)
        return self._per_repeat(np.concatenate(loss_r), np.concatenate(acc_r), "val")

    def _per_repeat(self, loss, acc, prefix) -> dict:
        return per_repeat_metrics(self.p, loss, acc, prefix)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """[R, N, out] outputs of each repeat's evaluated model (for membership inference)."""
        params = self.eval_params()
        outs = [forward_shared(self.plan, params, tf.constant(x[i:i + EVAL_CHUNK])).numpy()
                for i in range(0, len(x), EVAL_CHUNK)]
        out = np.concatenate(outs, axis=1)
        if self.protocol == "no-sync":
            out = out.reshape((self.R, self.M) + out.shape[1:])[np.arange(self.R), nosync_pick(self.p)]
        return out

    # --- state ----------------------------------------------------------------------------------
    def final_weights(self, ri: int) -> list[np.ndarray]:
        """Keras-ordered weights of repeat ri's evaluated model."""
        params = self.eval_params()
        per = params[0].shape[0] // self.R
        idx = ri * per + (int(nosync_pick(self.p)[ri]) if self.protocol == "no-sync" else 0)
        return [w[idx].numpy() for w in params]

    def get_state(self) -> dict:
        st = {"round": np.array(self.round), "cum_loss": self.cum_loss.numpy()}
        for name, vs in (("params", self.params), ("server", self.server), ("momentum", self.momentum)):
            for j, v in enumerate(vs):
                st[f"{name}_{j}"] = v.numpy()
        return st

    def set_state(self, st: dict) -> None:
        self.round = int(st["round"])
        self.cum_loss.assign(st["cum_loss"])
        for name, vs in (("params", self.params), ("server", self.server), ("momentum", self.momentum)):
            for j, v in enumerate(vs):
                v.assign(st[f"{name}_{j}"])

    def split_states(self, st: dict) -> list[dict]:
        return checkpoint.split_states(st, self.R, self.M)

    def join_states(self, states: list[dict]) -> dict:
        return checkpoint.join_states(states)

"""The stacked engine: Algorithm 1 and its baselines with every learner of every repeat as one leading
tensor axis, so one round of K = repeats × learners models is a handful of batched ops.

On a CPU a compiled program runs on one thread, so a cell's repeats are split into equal groups that run
in parallel threads (`execution.threads`), and one call runs every round up to the next evaluation: the
state stays inside XLA between rounds (docs/performance.md has the measurements behind both).

Semantics match the TFF engine exactly (same data order, keys, noise, loss); tests check it.
"""
from __future__ import annotations

import math
import os
import weakref

import numpy as np
import tensorflow as tf

from tffnoise.algorithms import checkpoint
from tffnoise.algorithms import keys as keylib
from tffnoise.algorithms import losses
from tffnoise.algorithms.forward import forward, forward_shared, penalty, stack_plan
from tffnoise.algorithms.problem import Problem

EVAL_CHUNK = 8192
ROUNDS_PER_CALL = 64  # most rounds one compiled call runs (its per-round metrics have this static size)

# XLA on CPU runs each of the K small per-learner matmuls of a round as an Eigen call; with Eigen's
# thread pool every call pays a dispatch, which dominated rounds (about 2x slower on 2 cores, measured
# in benchmarks/run.py, docs/performance.md). Single-threaded Eigen calls inside the compiled round are
# faster at these sizes. XLA reads XLA_FLAGS once, at its first compilation in the process, so this must
# run before any jit-compiled function; a value the user set is left alone. CPU only: GPUs ignore it.
if "xla_cpu_multi_thread_eigen" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()


def client_selection(problem: Problem) -> np.ndarray:
    """[rounds, R, M] 0/1: which learners count at each round's aggregation (fedavg sampling), for both
    engines. DP-FedAvg samples by Poisson: each learner joins each round independently with probability
    k/m (k = training.clients_per_round), so the count varies and may be 0; that is the sampling its ε
    is accounted for (add-or-remove-one client). Plain fedavg keeps a fixed-size set of k drawn without
    replacement (McMahan et al.'s FedAvg), which needs no accounting."""
    t, cfg = problem.cfg.training, problem.cfg
    R, M = len(problem.repeats), problem.learners
    sel = np.ones((problem.rounds, R, M), np.float32)
    if t.protocol == "fedavg" and t.clients_per_round and t.clients_per_round < M:
        sel[:] = 0
        for ri, r in enumerate(problem.repeats):
            rng = np.random.default_rng(keylib.numpy_seed(cfg.experiment.seed, r, 2))
            if cfg.privacy.mode == "dp-fedavg":
                sel[:, ri] = rng.random((problem.rounds, M)) < t.clients_per_round / M
                continue
            for k in range(problem.rounds):
                sel[k, ri, rng.choice(M, t.clients_per_round, replace=False)] = 1
    return sel


def nosync_pick(problem: Problem) -> np.ndarray:
    """The learner paper 1 reports for no-sync: one chosen at random per repeat (seeded)."""
    return np.array([np.random.default_rng(keylib.numpy_seed(problem.cfg.experiment.seed, r, 3)).integers(problem.learners)
                     for r in problem.repeats])


def trained_examples(problem: Problem, selection: np.ndarray) -> np.ndarray:
    """[R, M, n] bool: the examples of `problem.x_clients` the evaluated model was trained on, the members
    a membership-inference attack on it must use. A learner's batches of round t count when its round
    reaches that model: always for serial and periodic averaging, only in its selected rounds for fedavg
    (an unselected learner's local steps are discarded), and only the picked learner's for no-sync.
    Examples no batch drew (the partial batch an epoch drops) are not members."""
    R, M, n = problem.x_clients.shape[:3]
    b, T = problem.steps_per_round, problem.rounds
    counts = np.ones((T, R, M), bool)
    if problem.cfg.training.protocol == "fedavg":
        counts = selection[:T] > 0
    if problem.cfg.training.protocol == "no-sync":
        counts = np.zeros((T, R, M), bool)
        counts[:, np.arange(R), nosync_pick(problem)] = True
    mask = np.zeros((R, M, n), bool)
    for ri in range(R):
        for i in range(M):
            rounds = np.flatnonzero(counts[:, ri, i])
            steps = (rounds[:, None] * b + np.arange(b)).ravel()
            mask[ri, i, problem.order[ri, i, steps].ravel()] = True
    return mask


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


def compiled_round(p: Problem, plan, R: int, dp_sgd=None, dp_fedavg=None):
    """The jit-compiled round for this structure and R stacked repeats. Levels, learning rates, data and
    state are inputs, so the cells of a sweep (and the thread groups of one cell) that differ only in
    those share one compilation (XLA compiles take seconds; a round takes milliseconds). DP constants
    (clip, z, microbatches) are part of the structure."""
    mech_key = tuple((m.name, m.spec.distribution, m.spec.schedule, m.spec.decay, m.spec.gamma, m.spec.level == 0)
                     for m in p.mechanisms)
    streams = {m.name for m in p.mechanisms if m.name in ("input", "hidden")}
    dp = dp_sgd or dp_fedavg
    dp_key = (type(dp).__name__, tuple(sorted(vars(dp).items()))) if dp is not None else None
    key = (p.steps_per_round, p.num_classes, p.regression, p.loss_kind, p.cfg.training.protocol, R, p.learners,
           _plan_key(plan, streams), mech_key, p.cfg.privacy.mode, dp_key)
    if key not in _COMPILED:
        if len(_COMPILED) > 64:
            _COMPILED.clear()
        # autograph off: the round is written with tf.while_loop and every hook branches on Python values
        # only, so tracing skips autograph's source conversion of the engine, mechanisms and losses.
        _COMPILED[key] = tf.function(_RoundProgram(p, plan, R, dp_sgd, dp_fedavg), jit_compile=True, autograph=False)
    return _COMPILED[key]


def compiled_eval(p: Problem, eplan):
    """The traced evaluation of one chunk, shared by every engine with the same model, loss and targets
    (evaluation runs without noise, so noise levels do not matter here)."""
    plan = tuple(op[:2] + ("eval",) + op[3:] if op[0] == "noise" else op for op in eplan)
    key = ("eval", plan, p.loss_kind, p.regression)
    if key not in _COMPILED:
        kind, regression = p.loss_kind, p.regression

        def chunk(params, x, y, valid):
            out = forward_shared(eplan, params, x)
            pe = tf.where(valid, losses.per_example(kind, out, y), 0.0)
            corr = tf.where(valid, losses.correct(out, y, regression), 0.0)
            return tf.reduce_sum(pe, -1), tf.reduce_sum(corr, -1)

        # XLA: one fused single-threaded program per group, the groups in parallel threads (faster than
        # TF ops on the shared intra-op pool, measured); one compilation per chunk shape.
        _COMPILED[key] = tf.function(chunk, autograph=False, jit_compile=True)
    return _COMPILED[key]


class _RoundProgram:
    """One round of Algorithm 1 for K stacked learners, as a function of tensors only (no data held)."""

    def __init__(self, p: Problem, plan, R: int, dp_sgd, dp_fedavg):
        self.b, self.C, self.regression, self.kind = p.steps_per_round, p.num_classes, p.regression, p.loss_kind
        self.protocol, self.R, self.M, self.K = p.cfg.training.protocol, R, p.learners, R * p.learners
        self.mechanisms, self.plan = p.mechanisms, plan
        self.dp_sgd, self.dp_fedavg = dp_sgd, dp_fedavg

    def __call__(self, t0, n, st, data, hyper):
        """Rounds t0+1 .. t0+n (n <= ROUNDS_PER_CALL) in one compiled call: the state is carried through
        an XLA while loop, so a cell pays one call per evaluation period instead of one per round."""
        for mech in self.mechanisms:
            mech.runtime_level = hyper["levels"][mech.name]
        try:
            t0 = tf.cast(t0, tf.int64)
            R = self.R
            metrics = {"train_loss": tf.zeros([ROUNDS_PER_CALL, R]), "train_accuracy": tf.zeros([ROUNDS_PER_CALL, R]),
                       "cumulative_train_loss": tf.zeros([ROUNDS_PER_CALL, R]),
                       "cumulative_train_loss_sum": tf.zeros([ROUNDS_PER_CALL, R]),
                       "finite": tf.zeros([ROUNDS_PER_CALL, R], tf.bool)}

            def one(i, st, metrics):
                st, m = self._round(t0 + i + 1, st, data, hyper)
                metrics = {k: tf.tensor_scatter_nd_update(metrics[k], [[i]], m[k][None]) for k in metrics}
                return i + 1, st, metrics

            _, st, metrics = tf.while_loop(lambda i, *_: i < tf.cast(n, tf.int64), one,
                                           (tf.constant(0, tf.int64), st, metrics))
            return st, metrics
        finally:
            for mech in self.mechanisms:
                mech.runtime_level = None

    def _round(self, t, st, data, hyper):
        b, C, K, R, M = self.b, self.C, self.K, self.R, self.M
        keys, lr = data["keys"], hyper["lr"]
        levels = hyper["levels"]
        plan = [op[:2] + (levels[op[4]],) + op[3:] if op[0] == "noise" and op[4] in levels else op for op in self.plan]
        params = list(st["params"])
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
        params, server, momentum = self._sync(params, t, st, data, hyper)
        cum = st["cum_loss"] + cum
        per_repeat = lambda a: tf.reduce_mean(tf.reshape(a, [R, M]), 1)  # noqa: E731
        summed = lambda a: tf.reduce_sum(tf.reshape(a, [R, M]), 1)  # noqa: E731
        finite = tf.reduce_all(tf.reshape(tf.math.is_finite(loss_acc), [R, M]), 1)
        for w in params:
            finite &= tf.reduce_all(tf.reshape(tf.math.is_finite(w), [R, -1]), 1)
        new = {"params": params, "server": server, "momentum": momentum, "cum_loss": cum}
        return new, {"train_loss": per_repeat(loss_acc) / tf.cast(b, tf.float32),
                     "train_accuracy": per_repeat(corr_acc) / tf.cast(b, tf.float32),
                     "cumulative_train_loss": per_repeat(cum), "cumulative_train_loss_sum": summed(cum),
                     "finite": finite}

    def _gradients(self, plan, p_eval, x, y, sk, g, keys):
        """Per-learner gradients of the batch loss; DP-SGD replaces them with clipped, noised ones."""
        with tf.GradientTape() as tape:
            tape.watch(p_eval)
            out = forward(plan, p_eval, x, sk, True)
            pe = losses.per_example(self.kind, out, y)
            bl = losses.batch_loss(self.kind, pe)
            total = tf.reduce_sum(bl)
            reg = penalty(plan, p_eval)  # a plug-in's weight regularizers (model.losses): objective only
            if reg is not None:
                total = total + tf.reduce_sum(reg)
        grads = tape.gradient(total, p_eval)
        if self.dp_sgd is not None:
            grads = self.dp_sgd.private_gradients(plan, p_eval, x, y, sk, g, keys)
        return grads, out, pe, bl

    def _sync(self, params, t, st, data, hyper):
        """(learners' params, server models, server momentum) after the round's aggregation."""
        R, M = self.R, self.M
        server, momentum = list(st["server"]), list(st["momentum"])
        if self.protocol in ("serial", "no-sync"):
            return params, server, momentum
        sel = tf.gather(data["selection"], t - 1)  # [R, M]
        count = tf.reduce_sum(sel, 1)
        means = []
        for w in params:
            shape = tf.shape(w)[1:]
            wr = tf.reshape(w, tf.concat([[R, M], shape], 0))
            selb = tf.reshape(sel, tf.concat([[R, M], tf.ones_like(shape)], 0))
            means.append(tf.reduce_sum(wr * selb, 1) / tf.reshape(count, tf.concat([[R], tf.ones_like(shape)], 0)))
        if self.dp_fedavg is not None:
            means = self.dp_fedavg.private_mean(params, server, sel, t, tf.reshape(data["keys"], [R, M])[:, 0])
        out = []
        for j, w in enumerate(params):
            if self.protocol == "fedavg":
                momentum[j] = hyper["server_momentum"] * momentum[j] + (means[j] - server[j])
                server[j] = server[j] + hyper["server_lr"] * momentum[j]
            else:
                server[j] = means[j]
            out.append(tf.reshape(tf.repeat(server[j][:, None], M, axis=1), tf.shape(w)))
        return out, server, momentum


def thread_groups(R: int, requested: int = 0) -> tuple[int, int]:
    """(groups, repeats per group) for a cell of R repeats. XLA runs a compiled round on one CPU thread
    (see the XLA flag above), so independent repeats are the way to use the other cores. Groups are
    equal, so one compilation serves them all: when R does not divide, the last group is padded with
    copies of its last repeat whose results are dropped (5 repeats on 2 cores: 3 + 3, 1.67x rather than
    one core). On a GPU, one group (one device, one large program)."""
    if requested == 1 or R == 1:
        return 1, R
    if requested:
        want = requested
    else:
        if tf.config.list_logical_devices("GPU"):
            return 1, R
        from tffnoise.execution.cores import usable_cores

        want = usable_cores()
    size = math.ceil(R / max(1, min(want, R)))
    return math.ceil(R / size), size


_POOL: list = []
_CALLED: weakref.WeakSet = weakref.WeakSet()  # compiled functions that have run once (traced, compiled)


def _pool():
    if not _POOL:
        from concurrent.futures import ThreadPoolExecutor

        _POOL.append(ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="tffnoise-stacked"))
    return _POOL[0]


class _Group:
    """Repeats [r0, r1) of a cell, padded to `size` with copies of the last one: their data and state as
    tensors, advanced by one compiled program. `real` repeats count; the padding's results are dropped.
    `rows` are the cell's repeats the group holds, padding included."""

    def __init__(self, engine: "StackedEngine", r0: int, r1: int, size: int):
        p, M = engine.p, engine.M
        self.R, self.real = size, r1 - r0
        self.K = self.R * M
        rows = list(range(r0, r1)) + [r1 - 1] * (size - (r1 - r0))

        def stacked(a):
            a = a[rows]
            return a.reshape((self.K,) + a.shape[2:])

        self.data = {"x": tf.constant(stacked(p.x_clients)), "y": tf.constant(stacked(p.y_clients)),
                     "order": tf.constant(stacked(p.order).astype(np.int32)),
                     "keys": tf.constant(stacked(p.learner_keys)), "selection": tf.constant(engine.selection[:, rows])}
        self.rows = rows
        self.state: dict = {}  # set by StackedEngine.set_state
        self.program = compiled_round(p, engine.plan, self.R, engine.dp_sgd, engine.dp_fedavg)

    def run(self, t0: int, n: int, hyper: dict) -> dict:
        self.state, m = self.program(tf.constant(t0, tf.int64), tf.constant(n, tf.int64), self.state, self.data, hyper)
        return {k: v.numpy()[:n, :self.real] for k, v in m.items()}

    def real_part(self, t, per_repeat: int):
        """The rows of the real repeats of a tensor with per_repeat rows per repeat ([K, ...] or [R, ...])."""
        return t[:self.real * per_repeat] if self.real < self.R else t


_PLANS: dict = {}


def plan_for(problem: Problem) -> list:
    """The model's stacked forward plan. It depends on the model, noise layers and shapes only, so cells
    of a sweep share it (building the Keras model to read it costs tens of milliseconds)."""
    cfg = problem.cfg
    key = (repr(cfg.model), repr(sorted(cfg.noise.items())), tuple(problem.input_shape), problem.num_classes)
    if key not in _PLANS:
        if len(_PLANS) > 256:
            _PLANS.clear()
        _PLANS[key] = stack_plan(problem.model_fn(0))
    return _PLANS[key]


class StackedEngine:
    name = "stacked"

    def __init__(self, problem: Problem):
        self.p = problem
        cfg = problem.cfg
        self.R, self.M = len(problem.repeats), problem.learners
        self.K = self.R * self.M
        self.plan = plan_for(problem)
        self.selection = client_selection(problem)
        self.protocol = cfg.training.protocol
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
        G, size = thread_groups(self.R, cfg.execution.threads)
        self.groups = [_Group(self, g * size, min(self.R, (g + 1) * size), size) for g in range(G)]
        self.set_state(self._initial_state())
        self._eval_fn = compiled_eval(problem, self.plan)
        self._eval_sets: dict = {}

    def _initial_state(self) -> dict:
        """Round 0 in the checkpoint layout: every learner and the server at its repeat's initial weights."""
        st = {"round": np.array(0), "cum_loss": np.zeros(self.K, np.float32)}
        for j, w in enumerate(self.p.init_weights):
            st[f"params_{j}"] = np.repeat(w, self.M, axis=0)
            st[f"server_{j}"] = w
            st[f"momentum_{j}"] = np.zeros_like(w)
        return st

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

    # --- training -------------------------------------------------------------------------------
    def _hyper(self) -> dict:
        """The round's inputs that differ between cells of a sweep: learning rates and noise levels."""
        tr = self.p.cfg.training
        f32 = lambda v: tf.constant(v, tf.float32)  # noqa: E731
        return {"lr": f32(tr.learning_rate), "server_lr": f32(tr.server_learning_rate),
                "server_momentum": f32(tr.server_momentum),
                "levels": {m.name: f32(m.spec.level) for m in self.p.mechanisms}}

    def _each_group(self, fn, what) -> list:
        """fn(group) for every group, the other groups in parallel threads (TF releases the GIL while a
        compiled function runs) and the first in this one. The first call of `what` runs group 0 alone,
        before the others: it may trace and compile the function they share."""
        groups = self.groups
        if len(groups) == 1:
            return [fn(groups[0])]
        first = []
        if what not in _CALLED:
            first = [fn(groups[0])]
            groups = groups[1:]
            _CALLED.add(what)
        futures = [_pool().submit(fn, g) for g in groups[1:]]
        return first + [fn(groups[0])] + [f.result() for f in futures]

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
            per = self._rows_per_repeat(name)

            def one(g):  # the padded group as compiled; the padding's models dropped after
                loss, acc = self._evaluate_models(g.state[name], p.x_test, p.y_test, "test")
                return g.real_part(loss, per), g.real_part(acc, per)

            outs = self._each_group(one, self._eval_fn)
            loss, acc = (np.concatenate([o[i] for o in outs]) for i in (0, 1))
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

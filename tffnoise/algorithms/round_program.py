"""The stacked engine's compiled programs: one round of Algorithm 1 for K = R × M stacked learners
(the client update of client_update.py, then the batched aggregation), run for up to ROUNDS_PER_CALL
rounds in one XLA program with the state carried through a while loop, and the evaluation of a chunk.

Programs are cached by a `round_key.RoundKey` / `EvalKey` and built from the key alone; levels,
learning rates, data and state are inputs, so the cells of a sweep (and the thread groups of one cell)
that differ only in those share one compilation (XLA compiles take seconds; a round takes
milliseconds). DP constants (clip, z, microbatches) are part of the structure.
"""
from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from tffnoise.algorithms import devices, losses
from tffnoise.algorithms.client_update import LocalWork, local_round
from tffnoise.algorithms.forward import forward_shared
from tffnoise.algorithms.model_adapters import StackedLearners
from tffnoise.algorithms.plan import Conv2D, Pool2D
from tffnoise.algorithms.round_key import EvalKey, RoundKey, dp_objects, round_key, structural_mechanisms

# XLA on CPU runs each of the K small per-learner matmuls of a round as an Eigen call; with Eigen's
# thread pool every call pays a dispatch, which dominated rounds (about 2x slower on 2 cores, measured
# in benchmarks/run.py, docs/performance.md). Single-threaded Eigen calls inside the compiled round are
# faster at these sizes. XLA reads XLA_FLAGS once, at its first compilation in the process, so this must
# run before any jit-compiled function; a value the user set is left alone. CPU only: GPUs ignore it.
if "xla_cpu_multi_thread_eigen" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()

# Which compiler runs a structure's programs: XLA (`jit_compile`) everywhere except convolutions on a CPU.
# XLA's CPU convolutions are Eigen's, single-threaded here (the flag above); TensorFlow's graph runtime runs
# the same ops through oneDNN. Measured on paper 2's cnn-small at width 0.125, Fashion-MNIST, 3 clients x 3
# repeats, batch 32 (docs/performance.md): 6.5 s a round under XLA in two thread groups, 1.95 s in the graph
# runtime in one group (3.3x), and its first round (tracing) 7.6 s against 18.6 s. On a GPU XLA stays, one
# program per round structure. Tests set FORCE_XLA to run the GPU's path on this CPU.
FORCE_XLA: bool | None = None

ROUNDS_PER_CALL = 64  # most rounds one compiled call runs (its per-round metrics have this static size)

# Cache-aware order of a round's local work. Batched over all K learners, every step streams every
# learner's weights (read by the forward pass, again by the backward pass, written by the update): from
# memory once K learners' weights and gradients exceed the cache. In blocks of `learner_block` learners, a
# block runs all b steps of the round while its weights stay in cache, then the next block: per round each
# weight is read and written once. Results are the same (learners are independent; every draw is keyed
# per learner). BLOCK_BYTES is the cache one thread group may fill: a quarter of this machine's 32 MiB LLC
# (two groups and other processes share it). Measured on the MNIST-MLP cell (784-512-512-10, 10 repeats x
# 10 learners, two groups of 50, b = 10, B = 10; contended 2-core machine, alternating in one process):
# blocks of 1 learner 1.19x and 1.76x the batched round's steady ex/s, blocks of 2 1.04x and 1.31x; one
# thread alone, blocks of 2 1.45x, of 1 1.28x, of 5 1.15x (docs/performance.md). Small models (every
# SUSY row) fit whole and keep the batched round.
BLOCK_BYTES = 8 * 2**20
FORCE_BLOCK: int | None = None  # tests: this many learners a block (a divisor of K) whatever the model's size

_COMPILED: dict = {}


def _cached(key, build):
    if key not in _COMPILED:
        if len(_COMPILED) > 64:
            _COMPILED.clear()
        _COMPILED[key] = build()
    return _COMPILED[key]


def compiled_keys() -> frozenset:
    """The keys of the programs built so far in this process: the sweep benchmark counts, per cell, the
    programs it added, to charge compilation once per program structure."""
    return frozenset(_COMPILED)


def _graph_runtime_options() -> None:
    """Grappler's arithmetic optimizer rewrites sums inside the round's nested while loops (rounds, steps)
    into temporary variables that collide across iterations: a graph-runtime fedavg round of cnn-small on
    32x32x3 inputs failed with AlreadyExistsError (TemporaryVariableOp of AddOpsRewrite), reproduced by
    tests/algorithms/test_cnn_graph_runtime.py. Turned off, process-wide, before the first graph-runtime
    program is built; XLA-compiled programs do not go through that rewrite."""
    if tf.config.optimizer.get_experimental_options().get("arithmetic_optimization") is not False:
        tf.config.optimizer.set_experimental_options({"arithmetic_optimization": False})


def uses_xla(plan) -> bool:
    """Whether this plan's programs are XLA-compiled (see FORCE_XLA)."""
    if FORCE_XLA is not None:
        return FORCE_XLA
    if not any(isinstance(op, (Conv2D, Pool2D)) for op in plan):
        return True
    return devices.on_gpu()


def learner_block(K: int, model_bytes: int, xla: bool) -> int:
    """Learners whose round runs together (see BLOCK_BYTES): K when K models' weights and gradients fit,
    else the largest divisor of K that fits (at least 1). K on a GPU and in the graph runtime."""
    if FORCE_BLOCK:
        return FORCE_BLOCK
    if not xla or 2 * K * model_bytes <= BLOCK_BYTES or devices.on_gpu():
        return K
    fit = max(1, BLOCK_BYTES // (2 * model_bytes))
    return max(d for d in range(1, min(fit, K) + 1) if K % d == 0)


def model_weights(p) -> int:
    """Weights of one model of the problem (its initial weights carry a leading repeat axis)."""
    return sum(int(np.prod(np.shape(w)[1:])) for w in p.init_weights)


def compiled_round(p, plan, R: int, dp_sgd=None, dp_fedavg=None):
    """The compiled rounds for this structure and R stacked repeats (XLA, or the graph runtime: uses_xla)."""
    key = round_key(p, plan, R, dp_sgd, dp_fedavg)
    xla = uses_xla(plan)
    if not xla:
        _graph_runtime_options()
    # the block follows from the key's structure (K) and the weights' shapes (the plan's)
    block = learner_block(R * p.learners, 4 * model_weights(p), xla)
    # autograph off: the round is written with tf.while_loop and every hook branches on Python values
    # only, so tracing skips autograph's source conversion of the engine, mechanisms and losses.
    return _cached((key, xla, block), lambda: tf.function(_RoundProgram(key, p.mechanisms, len(p.init_weights), block),
                                                          jit_compile=xla, autograph=False))


# Evaluation of a wide model (at least this many weights a model) runs in the graph runtime, one model
# after another: each layer is then one ordinary matmul of the whole chunk on TensorFlow's pool of all
# cores, where XLA ran the thread group's models as single-threaded Eigen calls. Measured on the MNIST MLP
# (784-512-512-10, 10 models x 10,000 test images, quiet, in one process): XLA in two groups 79 GFLOP/s,
# graph runtime model by model 124 (1.57x; 85% of the machine's matmul limit), the graph runtime's
# einsum and batched matmul 83 (docs/performance.md). Small models (SUSY, 2.7k weights) keep XLA: per-op
# overhead would dominate them; so does every plan on a GPU.
EVAL_GRAPH_WEIGHTS = 2**16


def eval_uses_xla(plan, model_weights: int) -> bool:
    """Whether this plan's evaluation is XLA-compiled: as its rounds (uses_xla), except wide models on a
    CPU (EVAL_GRAPH_WEIGHTS). FORCE_XLA (the GPU's path, tested on a CPU) keeps XLA."""
    if not uses_xla(plan):
        return False
    if FORCE_XLA is not None or devices.on_gpu():
        return True
    return model_weights < EVAL_GRAPH_WEIGHTS


def compiled_eval(p, plan):
    """The traced evaluation of one chunk, shared by every engine with the same model, loss and targets
    (evaluation runs without noise, so noise levels do not matter here)."""
    key = EvalKey(tuple(plan), p.loss_kind, p.regression)
    xla = eval_uses_xla(plan, model_weights(p))
    if not xla:
        _graph_runtime_options()

    def build():
        def chunk(params, x, y, valid):
            if xla:
                out = forward_shared(key.plan, params, x)
            else:  # model by model (EVAL_GRAPH_WEIGHTS); the K models' outputs [K, B, out] as before
                out = tf.concat([forward_shared(key.plan, [w[k:k + 1] for w in params], x)
                                 for k in range(params[0].shape[0])], 0)
            pe = tf.where(valid, losses.per_example(key.loss_kind, out, y), 0.0)
            corr = tf.where(valid, losses.correct(out, y, key.regression), 0.0)
            return tf.reduce_sum(pe, -1), tf.reduce_sum(corr, -1)

        # XLA: one fused single-threaded program per group, the groups in parallel threads (faster than
        # TF ops on the shared intra-op pool, measured for MLPs); one compilation per chunk shape.
        return tf.function(chunk, autograph=False, jit_compile=xla)

    return _cached((key, xla), build)


class _RoundProgram:
    """Rounds of Algorithm 1 for K stacked learners, as a function of tensors only (no data held)."""

    def __init__(self, key: RoundKey, mechanisms, n_weights: int, block: int = 0):
        self.key = key
        self.R, self.M, self.K = key.repeats, key.learners, key.repeats * key.learners
        self.block = block or self.K
        self.mechanisms = structural_mechanisms(key, mechanisms)
        self.dp_sgd, self.dp_fedavg = dp_objects(key)
        self.model = StackedLearners(key.plan, key.loss_kind, n_weights)
        self.work = LocalWork(key.steps, 0 if key.regression else key.num_classes, key.regression)

    def __call__(self, t0, n, st, data, hyper):
        """Rounds t0+1 .. t0+n (n <= ROUNDS_PER_CALL) in one compiled call: the state is carried through
        an XLA while loop, so a cell pays one call per evaluation period instead of one per round."""
        t0 = tf.cast(t0, tf.int64)
        R = self.R
        names = ("train_loss", "train_accuracy", "cumulative_train_loss", "cumulative_train_loss_sum")
        metrics = {k: tf.zeros([ROUNDS_PER_CALL, R]) for k in names}
        metrics["finite"] = tf.zeros([ROUNDS_PER_CALL, R], tf.bool)

        def one(i, st, metrics):
            st, m = self._round(t0 + i + 1, st, data, hyper)
            metrics = {k: tf.tensor_scatter_nd_update(metrics[k], [[i]], m[k][None]) for k in metrics}
            return i + 1, st, metrics

        _, st, metrics = tf.while_loop(lambda i, *_: i < tf.cast(n, tf.int64), one,
                                       (tf.constant(0, tf.int64), st, metrics))
        return st, metrics

    def _round(self, t, st, data, hyper):
        b, R, M = self.key.steps, self.R, self.M
        params, loss_acc, corr_acc, cum = self._local(t, list(st["params"]), data, hyper)
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

    def _local(self, t, params, data, hyper):
        """local_round for all K learners at once, or block by block (learner_block) in a while loop."""
        def run(params, d):
            def batch(s, g):
                idx = tf.gather(d["order"], g - 1, axis=1)
                return tf.gather(d["x"], idx, batch_dims=1), tf.gather(d["y"], idx, batch_dims=1)

            return local_round(self.work, self.model, self.mechanisms, params, d["keys"], t, batch, hyper["lr"],
                               hyper["levels"], self.dp_sgd)

        kb, K = self.block, self.K
        if kb >= K:
            return run(params, data)
        nb = K // kb
        split = lambda a: tf.reshape(a, [nb, kb] + a.shape[1:])  # noqa: E731
        blocks = [split(w) for w in params]
        bdata = {k: split(data[k]) for k in ("x", "y", "order", "keys")}

        def one(i, outs):
            res = run([tf.gather(w, i) for w in blocks], {k: tf.gather(v, i) for k, v in bdata.items()})
            p, metrics = res[0], res[1:]
            return i + 1, [o.write(i, v) for o, v in zip(outs, list(p) + list(metrics))]

        outs = [tf.TensorArray(w.dtype, nb, element_shape=[kb] + w.shape[1:]) for w in params]
        outs += [tf.TensorArray(tf.float32, nb, element_shape=[kb]) for _ in range(3)]
        _, outs = tf.while_loop(lambda i, _: i < nb, one, (tf.constant(0), outs))
        flat = [tf.reshape(o.stack(), [K] + w.shape[1:]) for o, w in zip(outs, params + [data["keys"]] * 3)]
        return flat[:len(params)], *flat[len(params):]

    def _sync(self, params, t, st, data, hyper):
        """(learners' params, server models, server momentum) after the round's aggregation."""
        R, M, protocol = self.R, self.M, self.key.protocol
        server, momentum = list(st["server"]), list(st["momentum"])
        if protocol in ("serial", "no-sync"):
            return params, server, momentum
        sel = tf.gather(data["selection"], t - 1)  # [R, M]
        if self.dp_fedavg is not None:
            means = self.dp_fedavg.private_mean(params, server, sel, t, tf.reshape(data["keys"], [R, M])[:, 0])
        else:
            count = tf.reduce_sum(sel, 1)
            means = []
            for w in params:
                shape = tf.shape(w)[1:]
                wr = tf.reshape(w, tf.concat([[R, M], shape], 0))
                selb = tf.reshape(sel, tf.concat([[R, M], tf.ones_like(shape)], 0))
                means.append(tf.reduce_sum(wr * selb, 1) / tf.reshape(count, tf.concat([[R], tf.ones_like(shape)], 0)))
        out = []
        for j, w in enumerate(params):
            if j in self.key.local:
                # FedBN: a participant keeps the batch norm it trained, the others the one they had; the
                # server's (the evaluated model's) is the participants' mean (docs/metrics.md)
                server[j] = means[j]
                keep = tf.reshape(tf.reshape(sel, [R * M]) > 0, tf.concat([[R * M], tf.ones_like(tf.shape(w)[1:])], 0))
                out.append(tf.where(keep, w, st["params"][j]))
                continue
            if protocol == "fedavg":
                momentum[j] = hyper["server_momentum"] * momentum[j] + (means[j] - server[j])
                server[j] = server[j] + hyper["server_lr"] * momentum[j]
            else:
                server[j] = means[j]
            out.append(tf.reshape(tf.repeat(server[j][:, None], M, axis=1), tf.shape(w)))
        return out, server, momentum

"""The TFF engine: Algorithm 1 and its baselines run as a real TFF iterative process (tff_process.py),
with the same interface, semantics and checkpoint format as `StackedEngine`.

Each round runs the R repeats one after another, each as one call of the process's `next` over its M
clients. Evaluation runs plain TF on the server weights through the Keras model (so models the stacked
engine refuses, such as a plug-in's custom layers, run here too), with the per-example
losses and correctness of `losses.py`.

Execution context: the runner (cli._prepare_execution) installs tffnoise.execution's local or remote
context before building engines. `tff_process.build_process` (the single call site, before any TFF
computation is created) keeps whatever context of tffnoise.execution is current in this thread; only
when none is (a library user or a test building a TffEngine directly) does it install the local one, so
TFF's own worker_binary, which would outlive us, is never started.

Checkpoints use the stacked engine's keys and shapes (round, cum_loss [R·M], params_j [R·M, ...],
server_j [R, ...], momentum_j [R, ...]), so a run can resume on either engine.

Differential privacy (see tff_process.py): DP-SGD clips and noises inside each client's local steps with
the keyed generator (equal to the stacked engine, noise on); DP-FedAvg samples clients by Poisson and
aggregates their updates with TFF's `DifferentiallyPrivateFactory` on gaussian_fixed's query, its noise
drawn by the keyed float64 generator (equal to the stacked engine, noise on). `noise_multiplier` is the
resolved z the runner reports ε for.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from tffnoise.algorithms import losses
from tffnoise.algorithms import tff_process as proc
from tffnoise.algorithms.tff_process import ensure_execution_context  # noqa: F401  (re-exported)
from tffnoise.algorithms import checkpoint
from tffnoise.algorithms.problem import Problem
from tffnoise.algorithms.stacked import EVAL_CHUNK, client_selection, evaluates_every_learner, nosync_pick, per_repeat_metrics


class TffEngine:
    name = "tff"
    # TFF 0.87's C++ runtime computes on the CPU (it leaves GPUs idle: upstream issues #4600, #3709)
    device = "CPU (TFF runtime)"

    def __init__(self, problem: Problem):
        self.p = problem
        self.R, self.M = len(problem.repeats), problem.learners
        self.protocol = problem.cfg.training.protocol
        self.layout = proc.layout(problem)  # resolves and validates [privacy] (dp.py's own classes)
        dp = self.layout.privacy
        # The resolved z (after privacy.target_epsilon) the runner's ε accounting reads; None without DP.
        self.noise_multiplier = dp.noise_multiplier if dp is not None else None
        self.process = proc.build_process(problem, self.layout)
        self.selection = client_selection(problem)
        first = self._to_state(self.process.initialize())
        # DP-FedAvg: TFF's DP aggregator state as `initialize` made it (fixed clip and noise; the noise key
        # and round are set per repeat; it is not part of the shared checkpoint format).
        self._aggregator0 = first.pop("aggregator", None)
        self._states = [self._with_aggregator(first if ri == 0 else proc.initial_state(problem, self.layout, ri), ri)
                        for ri in range(self.R)]
        self._model = problem.model_fn(0)
        self._eval_fn = tf.function(self._eval_chunk, reduce_retracing=True)  # one trace for every chunk size
        self._predict_fn = tf.function(lambda x: self._model(x, training=False), reduce_retracing=True)

    @property
    def round(self) -> int:
        """Rounds done, read from the process state (the same for every repeat)."""
        return int(self._states[0]["round"])

    # --- training -------------------------------------------------------------------------------
    def _to_state(self, st) -> dict:
        """A process state as plain numpy (TFF returns its Python containers of numpy values); DP-FedAvg's
        `aggregator` state is kept as TFF returned it."""
        lay = self.layout
        out = {"round": np.int64(st["round"]),
               "model": [np.asarray(w, d) for w, d in zip(st["model"], lay.weight_dtypes)],
               "momentum": [np.asarray(w, d) for w, d in zip(st["momentum"], lay.weight_dtypes)],
               "cum_loss": np.asarray(st["cum_loss"], np.float32)}
        if "aggregator" in st:
            out["aggregator"] = st["aggregator"]
        return out

    def _with_aggregator(self, st: dict, ri: int) -> dict:
        """A state built outside the process (another repeat's start, a checkpoint) with DP-FedAvg's
        aggregator state; `is_init_state` says whether any round has run (TFF's DP-event extraction), and
        the query's noise key and rounds done are repeat ri's (the stacked engine's DP-FedAvg key)."""
        agg = self._aggregator0
        if agg is not None and "aggregator" not in st:
            rounds = int(st["round"])
            if rounds > 0:
                agg = agg._replace(is_init_state=False)
            ns = agg.query_state.numerator_state._replace(key=np.int64(self.p.learner_keys[ri, 0]), round=np.int64(rounds))
            agg = agg._replace(query_state=agg.query_state._replace(numerator_state=ns))
            st = {**st, "aggregator": agg}
        return st

    def run_rounds(self, n: int) -> list[dict]:
        return [self.run_round() for _ in range(n)]

    def run_round(self) -> dict:
        rows = []
        for ri in range(self.R):
            t = int(self._states[ri]["round"]) + 1
            data = proc.client_data(self.p, ri, t, self.selection)
            state, metrics = self.process.next(self._states[ri], data)
            self._states[ri] = self._to_state(state)
            rows.append(metrics)
        out = {k: np.array([float(m[k]) for m in rows], np.float32)
               for k in ("train_loss", "train_accuracy", "cumulative_train_loss", "cumulative_train_loss_sum")}
        out["finite"] = np.array([bool(m["finite"]) for m in rows])
        return out

    # --- evaluation -----------------------------------------------------------------------------
    def _eval_chunk(self, x, y):
        out = self._model(x, training=False)
        pe = losses.per_example(self.p.loss_kind, out, y)
        return tf.reduce_sum(pe), tf.reduce_sum(losses.correct(out, y, self.p.regression))

    def _models(self, ri: int) -> list[list[np.ndarray]]:
        """Repeat ri's models: one (PA, fedavg, serial), or all M learners (no-sync)."""
        model = self._states[ri]["model"]
        if self.layout.stacked_models:
            return [[w[i] for w in model] for i in range(self.M)]
        return [list(model)]

    def _evaluate_model(self, weights, x, y) -> tuple[float, float]:
        self._model.set_weights(weights)
        n, loss, corr = len(x), 0.0, 0.0
        for i in range(0, n, EVAL_CHUNK):
            l, c = self._eval_fn(tf.constant(x[i:i + EVAL_CHUNK]), tf.constant(y[i:i + EVAL_CHUNK]))
            loss += float(l)
            corr += float(c)
        return loss / n, corr / n

    def evaluate(self, split: str = "test") -> dict:
        p = self.p
        if split != "test" and p.x_val is None:
            return {}
        loss, acc = [], []
        for ri in range(self.R):
            x, y = (p.x_test, p.y_test) if split == "test" else (p.x_val[ri], p.y_val[ri])
            for w in (self._models(ri) if evaluates_every_learner(p.cfg) else [self.final_weights(ri)]):
                lo, ac = self._evaluate_model(w, x, y)
                loss.append(lo)
                acc.append(ac)
        return self._per_repeat(np.array(loss), np.array(acc), "test" if split == "test" else "val")

    def _per_repeat(self, loss, acc, prefix) -> dict:
        return per_repeat_metrics(self.p, loss, acc, prefix)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """[R, N, out] outputs of each repeat's evaluated model (for membership inference)."""
        outs = []
        for ri in range(self.R):
            self._model.set_weights(self.final_weights(ri))
            outs.append(np.concatenate([self._predict_fn(tf.constant(x[i:i + EVAL_CHUNK])).numpy()
                                        for i in range(0, len(x), EVAL_CHUNK)]))
        return np.stack(outs)

    # --- state ----------------------------------------------------------------------------------
    def final_weights(self, ri: int) -> list[np.ndarray]:
        """Keras-ordered weights of repeat ri's evaluated model (no-sync: the picked learner)."""
        models = self._models(ri)
        return [np.array(w) for w in models[int(nosync_pick(self.p)[ri]) if self.layout.stacked_models else 0]]

    def get_state(self) -> dict:
        """The stacked engine's checkpoint layout (see the module docstring)."""
        M, nw = self.M, len(self.layout.weight_shapes)
        st = {"round": np.array(self.round), "cum_loss": np.concatenate([s["cum_loss"] for s in self._states])}
        for j in range(nw):
            params, server, mom = [], [], []
            for ri, s in enumerate(self._states):
                w = s["model"][j]
                if self.protocol in ("periodic-averaging", "fedavg"):
                    params.append(np.repeat(w[None], M, axis=0))
                    server.append(w[None])
                else:  # serial, no-sync: the learners' models; the stacked engine's server keeps the init
                    params.append(w if self.layout.stacked_models else w[None])
                    server.append(np.asarray(self.p.init_weights[j][ri:ri + 1], w.dtype))
                mom.append(s["momentum"][j][None])
            st[f"params_{j}"] = np.concatenate(params)
            st[f"server_{j}"] = np.concatenate(server)
            st[f"momentum_{j}"] = np.concatenate(mom)
        return st

    def set_state(self, st: dict) -> None:
        M, lay = self.M, self.layout
        nw = len(lay.weight_shapes)
        states = []
        for ri in range(self.R):
            if self.protocol in ("periodic-averaging", "fedavg"):
                model = [st[f"server_{j}"][ri] for j in range(nw)]
            elif lay.stacked_models:
                model = [st[f"params_{j}"][ri * M:(ri + 1) * M] for j in range(nw)]
            else:
                model = [st[f"params_{j}"][ri] for j in range(nw)]
            states.append(self._with_aggregator(self._to_state({
                "round": st["round"], "model": model, "momentum": [st[f"momentum_{j}"][ri] for j in range(nw)],
                "cum_loss": st["cum_loss"][ri * M:(ri + 1) * M]}), ri))
        self._states = states

    def split_states(self, st: dict) -> list[dict]:
        return checkpoint.split_states(st, self.R, self.M)

    def join_states(self, states: list[dict]) -> dict:
        return checkpoint.join_states(states)

"""Algorithm 1 (noisy periodic averaging) and its baselines as a TFF iterative process.

One process trains ONE repeat: M anonymous clients (the learners) and a server. Types (w = the Keras
weights in Keras order, each `float32[shape]`; for no-sync the server keeps all M models, `float32[M, shape]`):

    initialize: ( -> <round=int64, model=<w...>, momentum=<w...>, cum_loss=float32[M]>@SERVER)
    next:       (<state@SERVER, data={<x=float32[b,B,...], y=int32[b,B] (float32 for ±1 targets),
                                       key=int64, slot=int32, sel=float32>}@CLIENTS>
                 -> <state@SERVER, <train_loss, train_accuracy, cumulative_train_loss,
                                   cumulative_train_loss_sum, finite>@SERVER>)

`round` counts the rounds done; the server broadcasts <model, round> and every client derives the round t
and its global steps g = (t−1)·b + s + 1 from it, so nothing that depends on the round is a Python
counter: TFF traces each computation once. Clients are anonymous, so what makes a client "learner i"
arrives as client-placed data: its batches for this round (`x`, `y`: [b, B, ...]), its noise key
(`problem.learner_keys[r, i]`), its slot i (its row of the no-sync model stack and of the per-learner
cumulative loss) and its fedavg selection weight for this round (`stacked.client_selection`).

Client work mirrors the stacked engine's round (`stacked._RoundProgram._round`) step for step: weight
noise at the round start (`on_round_start`), then b local SGD steps with label noise (`on_labels`), step weight noise
(`on_step_params`), the Keras model's forward pass with `training=True` inside
`step_key(keys.step_keys(key, g))` (so noise layers and dropout draw the stacked engine's numbers), the loss
of `losses.py`, gradient noise (`on_gradients`) and w ← w − η·g applied to the perturbed weights.

Aggregation averages ALL model weights, trainable and non-trainable. TFF's stock FedAvg
(`tff.learning.algorithms.build_weighted_fed_avg`) aggregates only the trainable weights and leaves the
server's non-trainable ones as they were, so batch-norm moving means and variances would never be
averaged (they would stay at their initial values on the server, and the evaluated model would
normalise with statistics no client ever computed). Averaging every weight is also what Algorithm 1 (and
the stacked engine, whose models have trainable weights only) does. A client that diverges is NOT zeroed
out as TFF's stock client work does (it replaces non-finite updates by zeros and reports nothing): its
NaN/inf reaches the average and the round reports `finite = False`, like the stacked engine.

Non-trainable weights (batch-norm statistics) are updated by the layer's own forward pass, not by SGD:
mechanisms see every weight in Keras order (tensor j draws from the same key as in the stacked engine),
but the draws for non-trainable slots are discarded: weight noise leaves the statistics as they were,
and a gradient-noise draw there has no gradient to act on. DP-FedAvg (below) clips and noises the whole
update, statistics included: they are computed from the clients' data, so they are released only
through the private aggregate.

Differential privacy (`[privacy] mode`, the semantics of `dp.py`):

- dp-sgd: each local step replaces the batch gradient by `dp.DpSgd`'s: the batch is cut into
  microbatches (contiguous, as in the stacked engine), each microbatch's gradient (the Keras model's
  forward pass on that microbatch under its own key, `dp.microbatch_keys`) is clipped to L2 norm C over the trainable
  weights, the clipped gradients are summed, Gaussian noise of std z·C is added from the project's keyed
  float64 generator (stream "dp", key (learner key, g), tensor j in Keras order: the stacked engine's numbers),
  and mean losses divide by the number of microbatches. TFF and stacked DP-SGD runs are equal with noise on.
- dp-fedavg: clients join a round by Poisson sampling (`stacked.client_selection`, each with probability
  k/M); aggregation of the client updates (client model − broadcast model, every weight in Keras
  order; an unselected client sends zeros) goes through TFF's own DP aggregator,
  `tff.aggregators.DifferentiallyPrivateFactory` with the query `gaussian_fixed(noise_multiplier=z,
  clients_per_round=k, clip=C)` builds (tensorflow-privacy's `NormalizedQuery(GaussianSumQuery)`): clip each
  client's update to C on the client, sum, add N(0, (z·C)²) on the server, divide by the fixed k
  (training.clients_per_round, or M), however many clients joined (none: the update is the noise over k).
  The one change to TFF's query: `KeyedGaussianSumQuery` draws the noise from the project's float64 keyed
  generator (key (repeat key, round t), tensor j: the stacked engine's numbers), because
  tensorflow-privacy's `tf.random_normal_initializer` draws float32 Box–Muller noise clamped near 5.7σ
  (docs/privacy.md). The server applies the noisy mean update: fedavg with its server learning rate and
  momentum, periodic averaging as w + update. The aggregator's state is the `aggregator` field of the
  process state:

      state = <round, model, momentum, cum_loss, aggregator=<query_state=<numerator_state=
               <l2_norm_clip=float32, stddev=float32, key=int64, round=int64>, denominator=float32>,
               agg_state=<>, dp_event=<...>, is_init_state=bool>>

  `key` is the repeat's noise key (`TffEngine` sets it per repeat) and `round` the rounds done, so
  DP-FedAvg equals the stacked engine with the noise on.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from tffnoise.algorithms import keys as keylib
from tffnoise.algorithms import losses
from tffnoise.algorithms.problem import Problem
from tffnoise.noise import distributions, rng
from tffnoise.noise.context import step_key


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
        d = dp.DpSgd(pv, problem)
        return DpSettings("dp-sgd", float(d.z), float(d.clip), microbatches=int(d.mb))
    d = dp.DpFedAvg(pv, problem)
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


def _client_train(problem: Problem, lay: ProcessLayout, model, weights, round_done, data):
    """One learner's round (the body of the client computation); returns its report for the federated sum."""
    tr = problem.cfg.training
    b, lr, M = lay.steps, tr.learning_rate, lay.learners
    C = 0 if problem.regression else problem.num_classes
    variables = list(model.weights)
    trainable_index = [j for j, tr_ in enumerate(lay.trainable) if tr_]
    trainable_vars = [variables[j] for j in trainable_index]
    key = tf.cast(data["key"], tf.int64)
    slot = tf.cast(data["slot"], tf.int32)
    t = tf.cast(round_done, tf.int64) + 1
    params = [tf.gather(w, slot) for w in weights] if lay.stacked_models else list(weights)
    for mech in problem.mechanisms:
        params = _statistics_kept(mech.on_round_start(params, key, t), params, lay.trainable)
    loss_acc = tf.constant(0.0)
    corr_acc = tf.constant(0.0)
    cum = tf.constant(0.0)
    for s in tf.range(b, dtype=tf.int64):
        g = (t - 1) * b + s + 1
        x = tf.gather(data["x"], s)
        y_true = tf.gather(data["y"], s)
        y = y_true
        for mech in problem.mechanisms:
            y = mech.on_labels(y, key, g, C)
        p_eval = params
        for mech in problem.mechanisms:
            p_eval = _statistics_kept(mech.on_step_params(p_eval, key, g), p_eval, lay.trainable)
        for v, w in zip(variables, p_eval):
            v.assign(w)
        sk = keylib.step_keys(key, g)
        with tf.GradientTape() as tape:
            with step_key(sk):
                out = model(x, training=True)
            pe = losses.per_example(problem.loss_kind, out, y)
            bl = losses.batch_loss(problem.loss_kind, pe)
            # a plug-in's regularization losses join the objective, as in Keras; the reported loss is the data's
            objective = bl + tf.add_n(model.losses) if model.losses else bl
        # What the full-batch pass left in the non-trainable weights (BN statistics), read before any
        # DP-SGD microbatch pass runs the layers again.
        after = [v.read_value() for v in variables]
        if lay.dp_sgd:
            grads = _dp_sgd_gradients(problem, lay, model, trainable_index, x, y, sk, key, g)
        else:
            tgrads = tape.gradient(objective, trainable_vars)
            # Every weight gets a gradient slot (zeros where none), so mechanism draws keep Keras indices.
            grads = [tf.zeros_like(v) for v in variables]
            for k, j in enumerate(trainable_index):
                if tgrads[k] is not None:
                    grads[j] = tf.convert_to_tensor(tgrads[k])
        for mech in problem.mechanisms:
            grads = mech.on_gradients(grads, key, g)
        # Trainable: SGD on the perturbed weights. Non-trainable: what the layer left (BN statistics).
        params = [w - lr * gr if tr_ else a
                  for w, gr, a, tr_ in zip(p_eval, grads, after, lay.trainable)]
        loss_acc += tf.reduce_mean(pe, -1)
        corr_acc += tf.reduce_mean(losses.correct(out, y_true, problem.regression), -1)
        cum += bl
    onehot = tf.one_hot(slot, M, dtype=tf.float32)
    if lay.stacked_models:
        # No-sync: the learner's model goes to its own row of a zero stack; the federated sum assembles them.
        model_out = [tf.scatter_nd(tf.reshape(slot, [1, 1]), w[None], tf.concat([[M], tf.shape(w)], 0))
                     for w in params]
    else:
        model_out = [data["sel"] * w for w in params]
    report = {"model": model_out, "count": tf.cast(data["sel"], tf.float32), "loss": loss_acc, "correct": corr_acc,
              "cum": onehot * cum, "nonfinite": tf.cast(tf.logical_not(tf.math.is_finite(loss_acc)), tf.int32)}
    if lay.dp_fedavg:
        # DP-FedAvg: the model goes to the DP aggregator as an update; an unselected client sends zeros.
        del report["model"]
        return {"report": report, "update": [data["sel"] * (w - w0) for w, w0 in zip(params, weights)]}
    return report


def _statistics_kept(perturbed: list, before: list, trainable: list) -> list:
    """Weight noise is for the weights SGD trains; batch-norm statistics keep their values (noise on a
    moving variance can make it negative, and the layer would divide by the square root of it). Every
    tensor is still drawn, so tensor j keeps its key and trainable weights get the stacked engine's noise."""
    return [p if tr else b for p, b, tr in zip(perturbed, before, trainable)]


def _dp_sgd_gradients(problem: Problem, lay: ProcessLayout, model, trainable_index, x, y, sk, key, g):
    """`dp.DpSgd.private_gradients` for one learner: per-microbatch gradients clipped to C, summed, noised
    with std z·C from the keyed generator, divided by the microbatch count for mean losses. One slot per
    weight in Keras order (zeros for non-trainable weights)."""
    from tffnoise.algorithms.dp import microbatch_keys

    dp, kind = lay.privacy, problem.loss_kind
    mb = dp.microbatches
    mkeys = microbatch_keys(sk, mb)
    per = lay.batch // mb
    xs = tf.reshape(x, [mb, per, *lay.input_shape])
    ys = tf.reshape(y, [mb, per])
    variables = list(model.weights)
    trainable_vars = [variables[j] for j in trainable_index]
    per_mb = []
    for i in range(mb):  # the stacked engine's microbatch i: examples i·B/mb ... (i+1)·B/mb − 1, its own key
        with tf.GradientTape() as tape:
            with step_key(mkeys[i]):
                out = model(xs[i], training=True)
            loss = losses.batch_loss(kind, losses.per_example(kind, out, ys[i]))
        gs = tape.gradient(loss, trainable_vars)
        per_mb.append([tf.zeros_like(v) if gr is None else tf.convert_to_tensor(gr) for gr, v in zip(gs, trainable_vars)])
    stacked = [tf.stack([pm[k] for pm in per_mb]) for k in range(len(trainable_index))]  # [mb, ...]
    norms = tf.sqrt(tf.add_n([tf.reduce_sum(tf.reshape(tf.square(t), [mb, -1]), 1) for t in stacked]))
    factor = tf.minimum(1.0, dp.clip / tf.maximum(norms, 1e-12))
    base = rng.fold_all(key, rng.STREAMS["dp"], g)
    grads = [tf.zeros_like(v) for v in variables]
    for k, j in enumerate(trainable_index):
        gr = stacked[k]
        shape = tuple(int(d) for d in gr.shape[1:])
        summed = tf.reduce_sum(gr * tf.reshape(factor, [mb] + [1] * len(shape)), 0)
        noise = distributions.dp_gaussian(rng.fold(base, j), shape, dp.noise_multiplier * dp.clip)
        total = summed + noise
        grads[j] = total if kind == "squared" else total / mb
    return grads


def keyed_gaussian_sum_query(clip: float, stddev: float):
    """tensorflow-privacy's GaussianSumQuery (clip each record to `clip`, sum, add N(0, stddev²)) with the
    noise drawn like the stacked engine's `dp.DpFedAvg`: `distributions.dp_gaussian` keyed by
    (global state's key, stream "dp", round t), tensor j of the update. The global state carries the key
    and the rounds done, so every repeat and round draws its own noise and a resumed run continues it."""
    import collections

    import dp_accounting
    import tensorflow_privacy as tfp

    class KeyedGaussianSumQuery(tfp.GaussianSumQuery):
        _GlobalState = collections.namedtuple("_GlobalState", ["l2_norm_clip", "stddev", "key", "round"])

        def make_global_state(self, l2_norm_clip, stddev, key=0, round_done=0):
            return self._GlobalState(tf.cast(l2_norm_clip, tf.float32), tf.cast(stddev, tf.float32),
                                     tf.cast(key, tf.int64), tf.cast(round_done, tf.int64))

        def get_noised_result(self, sample_state, global_state):
            t = global_state.round + 1
            base = rng.fold_all(global_state.key, rng.STREAMS["dp"], t)
            flat = tf.nest.flatten(sample_state)
            noised = [v + distributions.dp_gaussian(rng.fold(base, j), v.shape, global_state.stddev)
                      for j, v in enumerate(flat)]
            event = dp_accounting.GaussianDpEvent(global_state.stddev / global_state.l2_norm_clip)
            return tf.nest.pack_sequence_as(sample_state, noised), global_state._replace(round=t), event

    return KeyedGaussianSumQuery(clip, stddev)


def _server_update(problem: Problem, lay: ProcessLayout, state, sums, update=None):
    """The new server state and the round's metrics; `update` is DP-FedAvg's noisy mean update (from TFF's
    DP aggregator), applied instead of the plain mean of the client models."""
    tr = problem.cfg.training
    M, b = lay.learners, lay.steps
    model, momentum = list(state["model"]), list(state["momentum"])
    if update is not None:
        update = list(update)
        if lay.protocol == "fedavg":
            new_mom = [tr.server_momentum * m + u for m, u in zip(momentum, update)]
            new_model = [w + tr.server_learning_rate * m for w, m in zip(model, new_mom)]
        else:  # periodic averaging: server learning rate 1, no momentum
            new_model, new_mom = [w + u for w, u in zip(model, update)], momentum
    elif lay.stacked_models:
        new_model, new_mom = list(sums["model"]), momentum
    else:
        mean = [w / sums["count"] for w in sums["model"]]
        if lay.protocol == "fedavg":
            new_mom = [tr.server_momentum * m + (a - w) for m, a, w in zip(momentum, mean, model)]
            new_model = [w + tr.server_learning_rate * m for w, m in zip(model, new_mom)]
        else:
            new_model, new_mom = mean, momentum
    cum = state["cum_loss"] + sums["cum"]
    finite = tf.equal(sums["nonfinite"], 0)
    for w in new_model:
        finite = tf.logical_and(finite, tf.reduce_all(tf.math.is_finite(w)))
    new_state = {"round": state["round"] + 1, "model": new_model, "momentum": new_mom, "cum_loss": cum}
    metrics = {"train_loss": sums["loss"] / M / b, "train_accuracy": sums["correct"] / M / b,
               "cumulative_train_loss": tf.reduce_mean(cum), "cumulative_train_loss_sum": tf.reduce_sum(cum),
               "finite": finite}
    return new_state, metrics


def ensure_execution_context() -> None:
    """Install tffnoise.execution's local context unless one of its contexts is already current here.

    The single call site for the execution context; the runner normally installs it first."""
    try:
        from tffnoise import execution
    except ImportError:  # pragma: no cover - tffnoise.execution not available: TFF's default context
        return
    try:
        from tensorflow_federated.python.core.impl.context_stack import context_stack_impl

        current = context_stack_impl.context_stack.current
        from tffnoise.execution import local, remote

        ours = [c for c in (getattr(local, "_context", None), getattr(remote, "_remote_context", None)) if c is not None]
        if any(current is c for c in ours):
            return
    except ImportError:  # pragma: no cover - a different layout of either package: just install
        pass
    execution.install_local_context()


def build_process(problem: Problem, lay: ProcessLayout | None = None):
    """The TFF iterative process of one repeat. `initialize` gives repeat 0's state; for repeat ri start
    from `initial_state(problem, lay, ri)` (same type, that repeat's seeded initial weights; with
    DP-FedAvg plus the `aggregator` state that `initialize` returns, the same for every repeat)."""
    ensure_execution_context()  # before any TFF computation exists
    import tensorflow_federated as tff

    lay = lay or layout(problem)
    init0 = initial_state(problem, lay, 0)

    @tff.tensorflow.computation
    def init_tf():
        return {"round": tf.constant(init0["round"]), "model": [tf.constant(w) for w in init0["model"]],
                "momentum": [tf.constant(w) for w in init0["momentum"]], "cum_loss": tf.constant(init0["cum_loss"])}

    base_state_type = init_tf.type_signature.result
    data_type = client_data_type(lay)
    dp_agg = None
    if lay.dp_fedavg:
        dp = lay.privacy
        import tensorflow_privacy as tfp

        # gaussian_fixed's query, with the noise of the project's generator (see the module docstring)
        query = tfp.NormalizedQuery(keyed_gaussian_sum_query(float(dp.clip), float(dp.clip * dp.noise_multiplier)),
                                    denominator=float(dp.clients_per_round))
        factory = tff.aggregators.DifferentiallyPrivateFactory(query)
        update_type = tff.StructWithPythonType(
            [tff.TensorType(d.type, s) for s, d in zip(lay.weight_shapes, lay.weight_dtypes)], list)
        dp_agg = factory.create(update_type)
        agg_state_type = dp_agg.initialize.type_signature.result.member

        @tff.tensorflow.computation(base_state_type, agg_state_type)
        def attach_aggregator(base, agg):
            return {"round": base["round"], "model": list(base["model"]), "momentum": list(base["momentum"]),
                    "cum_loss": base["cum_loss"], "aggregator": agg}

        state_type = attach_aggregator.type_signature.result
    else:
        state_type = base_state_type

    @tff.tensorflow.computation(state_type)
    def server_message(state):
        return {"model": list(state["model"]), "round": state["round"]}

    @tff.tensorflow.computation(server_message.type_signature.result, data_type)
    def client_work(message, data):
        model = problem.model_fn(0)
        train = tf.function(lambda weights, round_done, d: _client_train(problem, lay, model, weights, round_done, d))
        return train(list(message["model"]), message["round"], dict(data))

    if dp_agg is None:
        @tff.tensorflow.computation(state_type, client_work.type_signature.result)
        def server_update(state, sums):
            return _server_update(problem, lay, state, sums)

        @tff.federated_computation
        def initialize():
            return tff.federated_eval(init_tf, tff.SERVER)

        @tff.federated_computation(tff.FederatedType(state_type, tff.SERVER), tff.FederatedType(data_type, tff.CLIENTS))
        def next_fn(state, data):
            message = tff.federated_broadcast(tff.federated_map(server_message, state))
            reports = tff.federated_map(client_work, (message, data))
            sums = tff.federated_sum(reports)
            out = tff.federated_map(server_update, tff.federated_zip((state, sums)))
            return out[0], out[1]

        return tff.templates.IterativeProcess(initialize, next_fn)

    client_type = client_work.type_signature.result

    @tff.tensorflow.computation(client_type)
    def pick_report(out):
        return dict(out["report"])

    @tff.tensorflow.computation(client_type)
    def pick_update(out):
        return list(out["update"])

    @tff.tensorflow.computation(state_type)
    def pick_aggregator(state):
        return state["aggregator"]

    @tff.tensorflow.computation(state_type, pick_report.type_signature.result, update_type, agg_state_type)
    def server_update_dp(state, sums, update, agg):
        new_state, metrics = _server_update(problem, lay, state, sums, update)
        new_state["aggregator"] = agg
        return new_state, metrics

    @tff.federated_computation
    def initialize_dp():
        return tff.federated_map(attach_aggregator,
                                 tff.federated_zip((tff.federated_eval(init_tf, tff.SERVER), dp_agg.initialize())))

    @tff.federated_computation(tff.FederatedType(state_type, tff.SERVER), tff.FederatedType(data_type, tff.CLIENTS))
    def next_dp(state, data):
        message = tff.federated_broadcast(tff.federated_map(server_message, state))
        reports = tff.federated_map(client_work, (message, data))
        sums = tff.federated_sum(tff.federated_map(pick_report, reports))
        agg = dp_agg.next(tff.federated_map(pick_aggregator, state), tff.federated_map(pick_update, reports))
        out = tff.federated_map(server_update_dp, tff.federated_zip((state, sums, agg.result, agg.state)))
        return out[0], out[1]

    return tff.templates.IterativeProcess(initialize_dp, next_dp)

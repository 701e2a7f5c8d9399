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

Client work is the stacked engine's round, the same code: `client_update.local_round` with K = 1 through
the Keras model (tff_client.py, model_adapters.KerasLearner): weight noise at the round start
(`on_round_start`), then b local SGD steps with label noise (`on_labels`), step weight noise
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

- dp-sgd: each local step replaces the batch gradient by `dp.DpSgd.noised`'s (the one implementation): the batch is cut into
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
  The one change to TFF's query: `KeyedGaussianSumQuery` (tff_dp_query.py) draws the noise from the project's float64 keyed
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

import tensorflow as tf

from tffnoise.algorithms.problem import Problem
from tffnoise.algorithms.tff_client import client_train
from tffnoise.algorithms.tff_dp_query import keyed_gaussian_sum_query
# The process's layout and data live in tff_layout.py; importers read them from here too.
from tffnoise.algorithms.tff_layout import (DpSettings, ProcessLayout, client_data, client_data_type,  # noqa: F401
                                            dp_settings, initial_state, layout)


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
        train = tf.function(lambda weights, round_done, d: client_train(problem, lay, model, weights, round_done, d))
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

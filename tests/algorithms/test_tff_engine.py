"""The TFF engine: its process's types, equivalence with the stacked engine, a CNN with batch norm, state.

TFF starts slowly: engines are built once per configuration (module-scoped cache) on tiny problems
(digits, 3 learners × 20 examples, hidden [8], batch 5, sync period 2, 3 rounds, 2 repeats).
Periodic averaging is checked with noise off, weight noise alone and hidden + label + gradient noise alone;
serial, no-sync and fedavg with noise off and with all of them on at once (plus input noise and dropout;
no-sync noisy also evaluates every learner),
which keeps the number of TFF processes built (about 5 s each) small."""
from __future__ import annotations

import numpy as np
import pytest

from tffnoise.config import load_config

BASE = ['data.source="digits"', "data.clients=3", "data.examples_per_client=20", "data.test_examples=60",
        "model.hidden=[8]", "training.batch_size=5", "training.sync_period=2", "training.rounds=3",
        "experiment.seed=7"]
WEIGHTS = ['noise.weights.distribution="uniform"', "noise.weights.level=0.5", 'noise.weights.schedule="sync"']
LAYERS = ['noise.hidden.distribution="gaussian"', "noise.hidden.level=0.3", "noise.label.level=0.3",
          'noise.gradient.distribution="gaussian"', "noise.gradient.level=0.2", 'noise.gradient.schedule="step"']
# Also on in the "noisy" cases: input noise and seeded dropout (the other draws keyed by the step key).
MORE = ["noise.input.level=0.1", 'noise.input.distribution="laplace"', "model.dropout=0.2"]
PM1 = ['data.source="susy"', "data.synthetic=true", 'data.targets="pm1"', 'model.output="linear"',
       "training.learning_rate=0.05", "noise.label.level=0.3"]
PROTOCOL_EXTRA = {
    "periodic-averaging": [],
    "serial": [],
    "no-sync": ["data.validation_fraction=0.2"],  # 16 train + 4 validation examples per learner
    "fedavg": ["training.server_momentum=0.9", "training.server_learning_rate=0.7", "training.clients_per_round=2"],
}
CASES = {
    "pa-clean": ("periodic-averaging", []),
    "pa-weights": ("periodic-averaging", WEIGHTS),
    "pa-layers": ("periodic-averaging", LAYERS),
    "pa-pm1": ("periodic-averaging", PM1 + WEIGHTS),  # ±1 targets, squared loss, additive label noise
    "serial-clean": ("serial", []),
    "serial-noisy": ("serial", WEIGHTS + LAYERS + MORE),
    "nosync-clean": ("no-sync", []),
    "nosync-noisy": ("no-sync", WEIGHTS + LAYERS + MORE + ['training.nosync_eval="every-learner"']),
    "fedavg-clean": ("fedavg", []),
    "fedavg-noisy": ("fedavg", WEIGHTS + LAYERS + MORE),
}
ROUNDS = 3

_cache: dict = {}


def engines(case: str):
    """(problem, stacked engine, TFF engine, stacked per-round outputs, TFF per-round outputs), run 3 rounds."""
    if case not in _cache:
        from tffnoise.algorithms.problem import prepare
        from tffnoise.algorithms.stacked import StackedEngine
        from tffnoise.algorithms.tff_engine import TffEngine

        protocol, noise = CASES[case]
        cfg = load_config(None, BASE + [f'training.protocol="{protocol}"'] + PROTOCOL_EXTRA[protocol] + noise)
        problem = prepare(cfg, [0, 1])
        s, e = StackedEngine(problem), TffEngine(problem)
        hist_s, hist_e = [], []
        for _ in range(ROUNDS):
            hist_s.append({**s.run_round(), **s.evaluate("test"), **s.evaluate("val")})
            hist_e.append({**e.run_round(), **e.evaluate("test"), **e.evaluate("val")})
        _cache[case] = (problem, s, e, hist_s, hist_e)
    return _cache[case]


@pytest.mark.slow
def test_process_type_signature():
    import tensorflow_federated as tff

    _, _, e, _, _ = engines("pa-clean")
    init_t, next_t = e.process.initialize.type_signature, e.process.next.type_signature
    weights = "<float32[64,8],float32[8],float32[8,10],float32[10]>"
    state = f"<round=int64,model={weights},momentum={weights},cum_loss=float32[3]>"
    data = "<x=float32[2,5,64],y=int32[2,5],key=int64,slot=int32,sel=float32>"
    assert str(init_t) == f"( -> {state}@SERVER)"
    assert init_t.parameter is None
    state_p, data_p = next_t.parameter
    assert isinstance(state_p, tff.FederatedType) and state_p.placement is tff.SERVER
    assert isinstance(data_p, tff.FederatedType) and data_p.placement is tff.CLIENTS and not data_p.all_equal
    assert str(state_p.member) == state and str(data_p.member) == data
    assert state_p.member["round"] == tff.TensorType(np.int64)
    assert data_p.member["key"] == tff.TensorType(np.int64)
    state_r, metrics_r = next_t.result
    assert state_r.placement is tff.SERVER and metrics_r.placement is tff.SERVER
    assert state_p.member.is_assignable_from(state_r.member)
    assert str(metrics_r.member) == (
        "<train_loss=float32,train_accuracy=float32,cumulative_train_loss=float32,cumulative_train_loss_sum=float32,"
        "finite=bool>")
    assert e.process.state_type.is_assignable_from(init_t.result)
    # The engine ran on tffnoise.execution's local context (a worker that dies with us) and reuses it.
    from tffnoise.algorithms.tff_engine import ensure_execution_context
    from tffnoise.execution import local

    from tensorflow_federated.python.core.impl.context_stack import context_stack_impl

    assert context_stack_impl.context_stack.current is local._context
    pid = local.local_worker_pid()
    assert pid is not None
    ensure_execution_context()
    assert local.local_worker_pid() == pid
    # no-sync keeps every learner's model on the server
    _, _, n, _, _ = engines("nosync-clean")
    assert str(n.process.initialize.type_signature.result.member["model"]) == \
        "<float32[3,64,8],float32[3,8],float32[3,8,10],float32[3,10]>"


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_matches_stacked_engine(case, assert_states_close):
    problem, s, e, hist_s, hist_e = engines(case)
    assert e.name == "tff" and e.round == s.round == ROUNDS
    assert_states_close(s.get_state(), e.get_state())
    for t, (a, b) in enumerate(zip(hist_s, hist_e), 1):
        assert sorted(a) == sorted(b), t
        for k in a:
            if k == "finite":
                assert a[k].tolist() == b[k].tolist() == [True, True]
            else:
                assert np.shape(a[k]) == np.shape(b[k]) == (2,), k
                np.testing.assert_allclose(a[k], b[k], atol=1e-5, rtol=1e-5, err_msg=f"{k} round {t}")
    if problem.cfg.training.protocol == "no-sync":
        every = problem.cfg.training.nosync_eval == "every-learner"
        assert "val_accuracy" in hist_e[0]
        assert ({"val_loss_mean_learner", "test_accuracy_mean_learner"} <= set(hist_e[0])) == every
    else:
        assert e.evaluate("val") == {}
    for ri in range(2):
        for a, b in zip(s.final_weights(ri), e.final_weights(ri)):
            np.testing.assert_allclose(a, b, atol=1e-5)
    x = problem.x_test[:7]
    pe, ps = e.predict_proba(x), s.predict_proba(x)
    assert pe.shape == ps.shape == (2, 7, 1 if problem.regression else 10)
    np.testing.assert_allclose(pe, ps, atol=1e-5)
    # chunks of other sizes (test and validation sets, the attacks' examples) reuse one general trace
    e.predict_proba(problem.x_test[:5])
    e.predict_proba(problem.x_test[:3])
    assert e._predict_fn.experimental_get_tracing_count() <= 2
    e._evaluate_model(e.final_weights(0), problem.x_test[:5], problem.y_test[:5])
    e._evaluate_model(e.final_weights(0), problem.x_test[:3], problem.y_test[:3])
    assert e._eval_fn.experimental_get_tracing_count() <= 2


@pytest.mark.slow
def test_noise_changes_training():
    """Guard against a vacuous equivalence: the noisy runs really differ from the clean ones."""
    for clean, noisy in (("pa-clean", "pa-weights"), ("pa-clean", "pa-layers"), ("fedavg-clean", "fedavg-noisy")):
        a, b = engines(clean)[2].get_state(), engines(noisy)[2].get_state()
        assert not np.allclose(a["server_0"], b["server_0"], atol=1e-4)


@pytest.mark.slow
def test_state_split_join_and_resume():
    _, _, e, _, hist_e = engines("fedavg-noisy")
    final = e.get_state()
    parts = e.split_states(final)
    assert len(parts) == 2 and all(int(p["round"]) == ROUNDS for p in parts)
    assert parts[1]["cum_loss"].shape == (3,) and parts[1]["server_0"].shape == (1, 64, 8)
    joined = e.join_states(parts)
    assert sorted(joined) == sorted(final)
    for k in final:
        np.testing.assert_array_equal(joined[k], final[k])
    with pytest.raises(ValueError, match="different rounds"):
        e.join_states([parts[0], {**parts[1], "round": np.array(1)}])

    # Replay from the start, stopping after round 1 to checkpoint, then resume on the same engine.
    problem = engines("fedavg-noisy")[0]
    start = {}
    for j, w in enumerate(problem.init_weights):
        start[f"params_{j}"] = np.repeat(w, 3, axis=0)
        start[f"server_{j}"] = w.copy()
        start[f"momentum_{j}"] = np.zeros_like(w)
    start["round"], start["cum_loss"] = np.array(0), np.zeros(6, np.float32)
    e.set_state(start)
    assert e.round == 0
    m1 = e.run_round()
    np.testing.assert_array_equal(m1["train_loss"], hist_e[0]["train_loss"])
    ckpt = e.join_states(e.split_states(e.get_state()))
    e.set_state(start)  # wipe, then resume from the round-1 checkpoint
    e.set_state(ckpt)
    assert e.round == 1
    for t in (2, 3):
        m = e.run_round()
        for k in ("train_loss", "train_accuracy", "cumulative_train_loss"):
            np.testing.assert_array_equal(m[k], hist_e[t - 1][k])
    for k, v in e.get_state().items():
        np.testing.assert_array_equal(v, final[k], err_msg=k)


@pytest.mark.slow
def test_resume_from_stacked_checkpoint_and_divergence_is_reported():
    """A stacked checkpoint resumes on the TFF engine; a repeat whose weights are NaN reports finite=False
    (TFF's stock client work would zero the update and hide it)."""
    problem, s, e, _, _ = engines("pa-layers")
    st = s.get_state()
    st["round"] = np.array(2)  # replay round 3 from the stacked engine's final weights on both engines
    bad = {k: v.copy() for k, v in st.items()}
    bad["server_0"][1, 0, 0] = np.nan
    bad["params_0"][3:, 0, 0] = np.nan
    s.set_state(st)
    e.set_state(st)
    a, b = s.run_round(), e.run_round()
    assert a["finite"].tolist() == b["finite"].tolist() == [True, True]
    np.testing.assert_allclose(a["train_loss"], b["train_loss"], atol=1e-5)
    s.set_state(bad)
    e.set_state(bad)
    a, b = s.run_round(), e.run_round()
    assert a["finite"].tolist() == b["finite"].tolist() == [True, False]
    assert np.isnan(e.get_state()["server_0"][1]).any()


@pytest.mark.slow
def test_cnn_with_batch_norm_runs_one_round():
    from tffnoise.algorithms.problem import prepare
    from tffnoise.algorithms.tff_engine import TffEngine
    from tffnoise.data import load_dataset

    ds = load_dataset("cifar10", synthetic=True, train_limit=16, test_limit=6, seed=0)
    cfg = load_config(None, ['data.source="cifar10"', "data.synthetic=true", "data.clients=2",
                             "data.examples_per_client=8", 'model.architecture="cnn-small"', "model.width=0.03",
                             "training.batch_size=4", "training.sync_period=2",
                             "training.rounds=1", "training.learning_rate=0.05"] + WEIGHTS[:1] +
                      ["noise.weights.level=0.01", "noise.hidden.level=0.05"])
    problem = prepare(cfg, [0], dataset=ds)
    e = TffEngine(problem)
    m = e.run_round()
    assert e.round == 1 and m["finite"].tolist() == [True] and m["train_loss"].shape == (1,)
    ev = e.evaluate("test")
    assert set(ev) == {"test_loss", "test_accuracy"} and np.isfinite(ev["test_loss"]).all()
    w = e.final_weights(0)
    model = problem.model_fn(0)
    assert [x.shape for x in w] == [x.shape for x in model.get_weights()]
    # BN moving statistics (non-trainable) are averaged into the server model, not left at their init.
    names = [v.name for v in model.weights]
    mm = next(i for i, n in enumerate(names) if "moving_mean" in n)
    assert not np.allclose(w[mm], problem.init_weights[mm][0])
    assert e.predict_proba(problem.x_test[:3]).shape == (1, 3, 10)


@pytest.mark.slow
@pytest.mark.parametrize("schedule", ["sync", "step"])
def test_weight_noise_leaves_batch_norm_statistics_alone(schedule):
    """A large weight-noise level on a BN CNN: the moving variances stay non-negative (noise on them
    would make some negative and the evaluation NaN) and the round's outputs stay finite."""
    from tffnoise.algorithms.problem import prepare
    from tffnoise.algorithms.tff_engine import TffEngine
    from tffnoise.data import load_dataset

    ds = load_dataset("cifar10", synthetic=True, train_limit=16, test_limit=6, seed=0)
    cfg = load_config(None, ['data.source="cifar10"', "data.synthetic=true", "data.clients=2", "engine=tff",
                             "data.examples_per_client=8", 'model.architecture="cnn-small"', "model.width=0.03",
                             "training.batch_size=4", "training.sync_period=2", "training.rounds=1",
                             "training.learning_rate=0.01", 'noise.weights.distribution="gaussian"',
                             "noise.weights.level=3.0", f'noise.weights.schedule="{schedule}"'])
    problem = prepare(cfg, [0], dataset=ds)
    e = TffEngine(problem)
    e.run_round()
    names = [v.name for v in problem.model_fn(0).weights]
    w = e.final_weights(0)
    variances = [w[i] for i, n in enumerate(names) if "moving_variance" in n]
    assert variances and all((v >= 0).all() for v in variances)
    assert np.isfinite(e.evaluate("test")["test_loss"]).all()


@pytest.mark.slow
def test_cnn_mixed_precision_runs_on_the_tff_engine():
    import tensorflow as tf

    from tffnoise.algorithms.problem import prepare
    from tffnoise.algorithms.tff_engine import TffEngine
    from tffnoise.data import load_dataset

    cfg = load_config(None, ["engine=tff", "model.architecture=cnn-small", "model.width=0.03", "model.mixed_precision=true",
                             "data.source=cifar10", "data.synthetic=true", "data.clients=2", "data.examples_per_client=12",
                             "data.test_examples=20", "training.batch_size=4", "training.sync_period=2", "training.rounds=1",
                             "experiment.repeats=1", "noise.hidden.level=0.1"])
    ds = load_dataset("cifar10", synthetic=True, train_limit=60, test_limit=20)
    problem = prepare(cfg, [0], ds)
    model = problem.model_fn(0)
    assert model.layers[-1].compute_dtype == "float32" and any(l.compute_dtype == "float16" for l in model.layers)
    assert all(w.dtype == tf.float32 for w in model.weights)
    eng = TffEngine(problem)
    m = eng.run_round()
    assert m["finite"].all() and 0 <= eng.evaluate("test")["test_accuracy"][0] <= 1
    assert tf.keras.mixed_precision.global_policy().name == "float32"

"""DP-SGD and DP-FedAvg on the TFF engine.

- DP-SGD runs in each client's local steps with `dp.DpSgd`'s math and the project's keyed generator, so
  the TFF engine equals the stacked engine to 1e-5 with the noise ON (here with hidden, label and
  dropout noise too), and each microbatch draws its own masks.
- DP-FedAvg aggregates the client updates with TFF's `DifferentiallyPrivateFactory` on gaussian_fixed's
  query, whose noise is drawn by the project's float64 keyed generator (`KeyedGaussianSumQuery`): the
  engines are equal with the noise ON, Poisson client sampling included; against a z = 0 run the server
  update deviates by noise of std z·C/k (k the fixed expected clients per round).
- A DP run through `run_sweep` on engine "tff" reports ε (and the resolved z for a target ε).

Tiny problems (digits, 3 learners × 20 examples, hidden [8], batch 5, sync period 2, 3 rounds, 2 repeats);
TFF engines are built once per configuration (module cache): about 5 s each.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from tffnoise.config import load_config, load_dict

BASE = ['data.source="digits"', "data.clients=3", "data.examples_per_client=20", "data.test_examples=60",
        "model.hidden=[8]", "training.batch_size=5", "training.sync_period=2", "training.rounds=3",
        "experiment.seed=7"]
FEDAVG = ['training.protocol="fedavg"', "training.server_momentum=0.9", "training.server_learning_rate=0.7",
          "training.clients_per_round=2"]
DP_FEDAVG = ['privacy.mode="dp-fedavg"', "privacy.l2_norm_clip=0.1", "privacy.noise_multiplier=0.5"]
DP_SGD = ['privacy.mode="dp-sgd"', "privacy.l2_norm_clip=0.5", "privacy.noise_multiplier=1.0"]
NOISY = ['noise.hidden.distribution="gaussian"', "noise.hidden.level=0.3", "noise.label.level=0.3", "model.dropout=0.2"]
CASES = {
    "dpfedavg-pa": ['training.protocol="periodic-averaging"'] + DP_FEDAVG,
    "dpfedavg-fedavg": FEDAVG + DP_FEDAVG,
    "dpsgd-pa": ['training.protocol="periodic-averaging"'] + DP_SGD + NOISY,
}
ROUNDS = 3

_cache: dict = {}


def _problem(overrides):
    from tffnoise.algorithms.problem import prepare

    return prepare(load_config(None, BASE + overrides), [0, 1])


def engines(case: str):
    """(problem, stacked engine, TFF engine, stacked rows, TFF rows) after 3 rounds."""
    if case not in _cache:
        from tffnoise.algorithms.stacked import StackedEngine
        from tffnoise.algorithms.tff_engine import TffEngine

        problem = _problem(CASES[case])
        s, e = StackedEngine(problem), TffEngine(problem)
        hist_s, hist_e = [], []
        for _ in range(ROUNDS):
            hist_s.append({**s.run_round(), **s.evaluate("test")})
            hist_e.append({**e.run_round(), **e.evaluate("test")})
        _cache[case] = (problem, s, e, hist_s, hist_e)
    return _cache[case]


def test_tff_dp_sgd_microbatches_draw_their_own_masks():
    """Issue 17 item 3 on the TFF engine: one DP-SGD step on 5 copies of one example, one example per
    microbatch, dropout only: the microbatches' outputs differ (one shared key made them equal)."""
    import tensorflow as tf

    from tffnoise.algorithms import keys as keylib
    from tffnoise.algorithms import tff_process as proc

    p = _problem(DP_SGD + ["model.dropout=0.5", "privacy.noise_multiplier=0.0"])
    lay = proc.layout(p)
    model = p.model_fn(0)
    outs = []

    class Recording:
        weights = property(lambda self: model.weights)

        def __call__(self, x, training):
            out = model(x, training=training)
            outs.append(out.numpy())
            return out

    from tffnoise.algorithms.model_adapters import KerasLearner

    x = tf.repeat(tf.constant(p.x_clients[0, 0, :1]), 5, axis=0)[None]
    y = tf.repeat(tf.constant(p.y_clients[0, 0, :1]), 5, axis=0)[None]
    key = tf.constant(p.learner_keys[0, 0], tf.int64)
    g = tf.constant(1, tf.int64)
    params = [w[None] for w in model.get_weights()]
    KerasLearner(Recording(), p.loss_kind, lay.trainable).microbatch_grads(params, x, y, keylib.step_keys(key, g)[None], 5, {})
    assert len(outs) == 5
    for i in range(5):
        for j in range(i):
            assert not np.allclose(outs[i], outs[j], atol=1e-6), (i, j)


def _stacked_run(overrides, rounds=ROUNDS):
    from tffnoise.algorithms.stacked import StackedEngine

    s = StackedEngine(_problem(overrides))
    for _ in range(rounds):
        s.run_round()
    return s


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_tff_dp_matches_stacked(case, assert_states_close):
    problem, s, e, hist_s, hist_e = engines(case)
    z = problem.cfg.privacy.noise_multiplier
    assert e.noise_multiplier == s.noise_multiplier == z
    assert e.round == s.round == ROUNDS
    assert_states_close(s.get_state(), e.get_state())
    for t, (a, b) in enumerate(zip(hist_s, hist_e), 1):
        assert sorted(a) == sorted(b)
        for k in a:
            if k == "finite":
                assert a[k].tolist() == b[k].tolist() == [True, True]
            else:
                np.testing.assert_allclose(a[k], b[k], atol=1e-5, rtol=1e-5, err_msg=f"{k} round {t}")
    if case == "dpfedavg-fedavg":  # Poisson sampling: the count varies, and repeat 1's round 3 has no client
        counts = s.selection.sum(-1)
        assert counts[2, 1] == 0 and len(np.unique(counts)) > 2
    # Not vacuous: the privacy mechanism changes training (clipping and noise).
    clean = _stacked_run([o for o in CASES[case] if not o.startswith("privacy.")])
    assert not np.allclose(clean.get_state()["server_0"], e.get_state()["server_0"], atol=1e-4)
    quiet = _stacked_run(CASES[case] + ["privacy.noise_multiplier=0.0"])
    assert not np.allclose(quiet.get_state()["server_0"], e.get_state()["server_0"], atol=1e-4)


@pytest.mark.slow
def test_dp_fedavg_uses_tffs_dp_aggregator_and_resumes(assert_states_close):
    problem, s, e, _, _ = engines("dpfedavg-pa")
    weights = "<float32[64,8],float32[8],float32[8,10],float32[10]>"
    aggregator = ("<query_state=<numerator_state=<l2_norm_clip=float32,stddev=float32,key=int64,round=int64>,denominator=float32>,"
                  "agg_state=<>,dp_event=<module_name=str,class_name=str,noise_multiplier=float32>,is_init_state=bool>")
    assert str(e.process.initialize.type_signature.result.member) == \
        f"<round=int64,model={weights},momentum={weights},cum_loss=float32[3],aggregator={aggregator}>"
    assert e.process.state_type.is_assignable_from(e.process.next.type_signature.result[0])
    st = e._states[0]["aggregator"]
    assert float(st.query_state.numerator_state.l2_norm_clip) == pytest.approx(0.1)
    assert float(st.query_state.denominator) == 3.0 and not st.is_init_state
    assert int(st.query_state.numerator_state.round) == ROUNDS
    assert [int(s_["aggregator"].query_state.numerator_state.key) for s_ in e._states] == problem.learner_keys[:, 0].tolist()
    # Resume from the stacked engine's checkpoint (round 3 replayed from its final weights) on both engines.
    ckpt = s.get_state()
    ckpt["round"] = np.array(2)
    s.set_state(ckpt)
    e.set_state(ckpt)
    assert not e._states[1]["aggregator"].is_init_state
    a, b = s.run_round(), e.run_round()
    np.testing.assert_allclose(a["train_loss"], b["train_loss"], atol=1e-5)
    assert_states_close(s.get_state(), e.get_state())


@pytest.mark.slow
def test_dp_fedavg_noise_has_the_gaussian_scale():
    """With z > 0 the server's round-1 model minus the z = 0 run's (equal to the stacked engine's) is the
    aggregator's noise over k: std z·C/k, mean 0, fresh per repeat."""
    from tffnoise.algorithms.tff_engine import TffEngine

    z, C, k = 2.0, 0.1, 3
    overrides = CASES["dpfedavg-pa"] + [f"privacy.noise_multiplier={z}"]
    e = TffEngine(_problem(overrides))
    assert e.noise_multiplier == z
    e.run_round()
    ref = _stacked_run(CASES["dpfedavg-pa"] + ["privacy.noise_multiplier=0.0"], rounds=1).get_state()
    got = e.get_state()
    nw = len(e.layout.weight_shapes)
    per_repeat = [np.concatenate([(got[f"server_{j}"][ri] - ref[f"server_{j}"][ri]).ravel() for j in range(nw)])
                  for ri in range(2)]
    d = np.concatenate(per_repeat)
    expected = z * C / k
    assert d.size == 2 * 610
    # std estimate's relative standard error is 1/sqrt(2n) = 2%: 10% is 5 of them
    assert abs(d.std() / expected - 1) < 0.10, (d.std(), expected)
    assert abs(d.mean()) < 4 * expected / np.sqrt(d.size)
    assert abs(np.corrcoef(per_repeat[0], per_repeat[1])[0, 1]) < 0.15  # independent draws per repeat
    assert abs(float(e._states[0]["aggregator"].query_state.numerator_state.stddev) - z * C) < 1e-6


@pytest.mark.slow
def test_dp_run_through_the_sweep_reports_epsilon(tmp_path):
    from tffnoise.algorithms import dp
    from tffnoise.runner.sweep import run_sweep

    out = tmp_path / "out"
    base = load_dict(None, BASE + DP_SGD + ['engine="tff"', f'out="{out}"', "experiment.repeats=1",
                                            "privacy.target_epsilon=8.0", "privacy.membership_inference=false"])
    result = run_sweep(base)
    assert result["status"] == {"done": 1, "failed": 0, "diverged": 0}, result["rows"]
    (summary_path,) = (out / "runs").glob("*/summary.json")
    summary = json.loads(summary_path.read_text())
    final = summary["final"]
    assert summary["engine"] == "tff" and summary["status"] == "done"
    assert final["epsilon"] == pytest.approx(8.0, abs=0.1)
    assert 0 < final["delta_truncation"] < 1e-3 * summary["final"]["delta"]  # the float64 cap: negligible here
    cfg = load_config(None, BASE + DP_SGD + ["privacy.target_epsilon=8.0"])
    z = dp.resolve_noise_multiplier(cfg, _problem(DP_SGD + ["privacy.target_epsilon=8.0"]))
    assert final["noise_multiplier"] == pytest.approx(z) and z != 1.0
    metrics = [json.loads(line) for line in (summary_path.parent / "metrics.jsonl").read_text().splitlines()]
    eps = [m["epsilon"] for m in metrics]
    assert len(eps) == ROUNDS and eps == sorted(eps) and eps[-1] == pytest.approx(final["epsilon"])

"""Both engines against an independent NumPy Algorithm 1 (tests/reference/algorithm1.py).

The reference takes from tffnoise only what the paper leaves to chance: the initial weights, each
learner's examples and batch order (Problem, i.e. data loading), and the unit draws ψ through the hook
`tffnoise.noise.weights.sync_draws` / `step_draws`. Which scale applies at which step, which model is
averaged, what is trained and what is evaluated are its own reading of the paper. Tiny problems: 4
inputs, one hidden layer of 3 sigmoid units, 3 learners × 8 examples, batch 2, sync period 2, 6 rounds,
2 repeats. Tolerance: rtol 1e-5, atol 1e-6 (the engines run float32, the reference float64).
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from tffnoise.config import load_config
from tffnoise.data import Dataset

# pytest imports test modules by path (--import-mode=importlib): load the sibling module the same way.
_spec = importlib.util.spec_from_file_location("tests_reference_algorithm1", Path(__file__).with_name("algorithm1.py"))
ref = sys.modules.setdefault("tests_reference_algorithm1", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(ref)

ROUNDS = 6
RTOL, ATOL = 1e-5, 1e-6
TINY = ["data.clients=3", "data.examples_per_client=8", "model.hidden=[3]", "model.activation=sigmoid",
        "training.batch_size=2", "training.sync_period=2", f"training.rounds={ROUNDS}", "experiment.seed=3"]
LOSSES = {
    "crossentropy": ["training.learning_rate=0.5"],
    "squared": ['data.targets="pm1"', 'model.output="linear"', "training.learning_rate=0.05"],
}
# name: (protocol, loss, distribution, level, schedule, decay)
CASES = {
    "pa-sync-inverse": ("periodic-averaging", "crossentropy", "uniform", 0.5, "sync", "inverse"),
    "pa-sync-anneal-squared": ("periodic-averaging", "squared", "gaussian", 0.3, "sync", "anneal"),
    "pa-init": ("periodic-averaging", "crossentropy", "gaussian", 1.0, "init", "none"),
    "pa-step-squared": ("periodic-averaging", "squared", "uniform", 0.4, "step", "inverse"),
    "serial-sync-inverse": ("serial", "crossentropy", "uniform", 0.5, "sync", "inverse"),
    "nosync-sync-inverse-squared": ("no-sync", "squared", "uniform", 0.5, "sync", "inverse"),
    "nosync-step": ("no-sync", "crossentropy", "gaussian", 0.3, "step", "none"),
    "nosync-step-every-learner": ("no-sync", "crossentropy", "gaussian", 0.3, "step", "none"),
}
EXTRA = {"nosync-step-every-learner": ['training.nosync_eval="every-learner"']}


def toy_data() -> Dataset:
    rng = np.random.default_rng(11)
    w = rng.normal(size=4)

    def split(n):
        x = rng.normal(size=(n, 4)).astype(np.float32)
        return x, (x @ w + 0.5 * rng.normal(size=n) > 0).astype(np.int32)

    xtr, ytr = split(60)
    xte, yte = split(40)
    return Dataset(name="toy", x_train=xtr, y_train=ytr, x_test=xte, y_test=yte, num_classes=2, synthetic=True,
                   train_ids=np.arange(60, dtype=np.int64), test_ids=np.arange(40, dtype=np.int64), source_paths=(),
                   description="toy 4-feature data")


def problem_for(case: str):
    from tffnoise.algorithms.problem import prepare

    protocol, loss, dist, level, schedule, decay = CASES[case]
    cfg = load_config(None, TINY + LOSSES[loss] + [
        f'training.protocol="{protocol}"', f'noise.weights.distribution="{dist}"', f"noise.weights.level={level}",
        f'noise.weights.schedule="{schedule}"', f'noise.weights.decay="{decay}"'] + EXTRA.get(case, []))
    return prepare(cfg, [0, 1], dataset=toy_data()), ref.Setup(
        protocol=protocol, loss=loss, activation="sigmoid", learning_rate=cfg.training.learning_rate,
        sync_period=2, rounds=ROUNDS, level=level, schedule=schedule, decay=decay, gamma=cfg.noise["weights"].gamma)


def reference(problem, setup: ref.Setup, ri: int) -> list[dict]:
    """The reference run of repeat ri, fed the problem's data and the engine's unit draws (the hook)."""
    import tensorflow as tf

    from tffnoise.noise.weights import step_draws, sync_draws

    keys = tf.constant(problem.learner_keys[ri])
    shapes = [w.shape[1:] for w in problem.init_weights]
    dist = problem.cfg.noise["weights"].distribution

    def per_learner(draws):
        arrays = [d.numpy() for d in draws]
        return [[a[i] for a in arrays] for i in range(problem.learners)]

    y = problem.y_clients[ri]
    return ref.run(setup, [w[ri] for w in problem.init_weights], problem.x_clients[ri], y, problem.order[ri],
                   lambda t: per_learner(sync_draws(dist, keys, shapes, tf.constant(t, tf.int64))),
                   lambda g: per_learner(step_draws(dist, keys, shapes, tf.constant(g, tf.int64))),
                   problem.x_test, problem.y_test)


def compare(problem, setup, engine):
    """Round by round: every learner's weights, the training losses, the evaluated model's test metrics
    (no-sync: the learner the engine picked, which the paper leaves to chance; with every learner
    evaluated also their mean)."""
    from tffnoise.algorithms.selection import nosync_pick

    refs = [reference(problem, setup, ri) for ri in range(2)]
    pick = nosync_pick(problem) if setup.protocol == "no-sync" else [0, 0]
    every = problem.cfg.training.nosync_eval == "every-learner"
    M, nw = problem.learners, len(problem.init_weights)
    for t in range(ROUNDS):
        m, ev = engine.run_round(), engine.evaluate("test")
        st = engine.get_state()
        for ri in range(2):
            r = refs[ri][t]
            where = f"round {t + 1} repeat {ri}"
            for j in range(nw):
                got = st[f"params_{j}"][ri * M:(ri + 1) * M]
                want = np.stack([r["learners"][i][j] for i in range(M)])
                np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=f"weights {j}, {where}")
            for k in ("train_loss", "cumulative_train_loss", "cumulative_train_loss_sum"):
                np.testing.assert_allclose(m[k][ri], r[k], rtol=RTOL, atol=ATOL, err_msg=f"{k}, {where}")
            np.testing.assert_allclose(ev["test_loss"][ri], r["test_loss"][pick[ri]], rtol=RTOL, err_msg=where)
            assert ev["test_accuracy"][ri] == pytest.approx(r["test_accuracy"][pick[ri]]), where
            assert ("test_loss_mean_learner" in ev) == every, where
            if every:
                np.testing.assert_allclose(ev["test_loss_mean_learner"][ri], np.mean(r["test_loss"]), rtol=RTOL,
                                           err_msg=where)
                assert ev["test_accuracy_mean_learner"][ri] == pytest.approx(np.mean(r["test_accuracy"])), where
    return refs


@pytest.mark.parametrize("case", list(CASES))
def test_stacked_engine_matches_the_reference(case):
    from tffnoise.algorithms.stacked import StackedEngine

    problem, setup = problem_for(case)
    refs = compare(problem, setup, StackedEngine(problem))
    # not vacuous: the noise moved the reference away from its clean run
    clean = reference(problem, ref.Setup(**{**vars(setup), "level": 0.0}), 0)
    assert not np.allclose(refs[0][-1]["evaluated"][0][0], clean[-1]["evaluated"][0][0], atol=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["pa-sync-inverse", "pa-step-squared", "serial-sync-inverse", "nosync-step",
                                  "nosync-step-every-learner"])
def test_tff_engine_matches_the_reference(case):
    from tffnoise.algorithms.tff_engine import TffEngine

    problem, setup = problem_for(case)
    compare(problem, setup, TffEngine(problem))


def test_reference_schedule_reads_the_paper():
    """The reference's own levels: ε at init, ε/k right after the k-th averaging."""
    s = ref.Setup("periodic-averaging", "crossentropy", "sigmoid", 0.1, 2, 6, 0.5, "sync", "inverse")
    assert [ref.noise_level(s, k) for k in range(5)] == [0.5, 0.5, 0.25, 0.5 / 3, 0.125]


def test_reference_gradient_is_the_loss_derivative():
    """Backpropagation against central differences (float64), both losses."""
    rng = np.random.default_rng(0)
    w = [rng.normal(size=(4, 3)), rng.normal(size=3), rng.normal(size=(3, 2)), rng.normal(size=2)]
    x = rng.normal(size=(5, 4))
    for loss, y, wl in (("crossentropy", rng.integers(0, 2, 5), w),
                        ("squared", rng.choice([-1.0, 1.0], 5), w[:2] + [w[2][:, :1], w[3][:1]])):
        s = ref.Setup("serial", loss, "sigmoid", 0.1, 1, 1, 0.0, "sync", "none")
        g = ref.gradient(wl, x, y, s)
        for j, v in enumerate(wl):
            num = np.zeros_like(v)
            for idx in np.ndindex(v.shape):
                hi = [a.copy() for a in wl]
                lo = [a.copy() for a in wl]
                hi[j][idx] += 1e-6
                lo[j][idx] -= 1e-6
                num[idx] = (ref.batch_loss(ref.outputs(hi, x, s), y, s) - ref.batch_loss(ref.outputs(lo, x, s), y, s)) / 2e-6
            np.testing.assert_allclose(g[j], num, rtol=1e-5, atol=1e-7, err_msg=f"{loss} weight {j}")

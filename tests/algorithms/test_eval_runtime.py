"""Which runtime evaluates a model (round_program.eval_uses_xla): wide models on a CPU in the graph
runtime, model by model; small ones, and every plan on a GPU's path, under XLA. Both must give each
repeat's own numbers: the graph path is checked against the XLA path and against a NumPy forward pass of
each repeat's final weights, written here."""
import numpy as np
import pytest

from tffnoise.algorithms import round_program
from tffnoise.algorithms.problem import prepare
from tffnoise.algorithms.stacked import StackedEngine
from tffnoise.config import load_config

TINY = ["data.clients=3", "data.examples_per_client=20", "model.hidden=[8, 6]", "model.activation=\"relu\"",
        "training.batch_size=5", "training.sync_period=2", "training.rounds=3", "experiment.repeats=3",
        "execution.threads=2", "noise.weights.level=0.5", "data.validation_fraction=0.25"]


def test_wide_models_evaluate_in_the_graph_runtime_small_ones_and_the_gpu_path_in_xla(monkeypatch):
    eng = StackedEngine(prepare(load_config(None, TINY), [0, 1, 2]))
    plan = eng.plan
    mnist = 784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10
    assert not round_program.eval_uses_xla(plan, mnist)
    assert round_program.eval_uses_xla(plan, 18 * 32 + 32 + 32 * 64 + 64 + 64 * 2 + 2)  # SUSY
    monkeypatch.setattr(round_program, "FORCE_XLA", True)
    assert round_program.eval_uses_xla(plan, mnist)


def _numpy_eval(weights, x, y):
    """Mean cross-entropy and accuracy of the relu MLP with a softmax output, from its Keras-order weights."""
    h = x.reshape(len(x), -1).astype(np.float64)
    n = len(weights) // 2
    for j in range(n):
        h = h @ weights[2 * j] + weights[2 * j + 1]
        if j < n - 1:
            h = np.maximum(h, 0.0)
    h = h - h.max(1, keepdims=True)
    logp = h - np.log(np.exp(h).sum(1, keepdims=True))
    return -logp[np.arange(len(y)), y].mean(), (h.argmax(1) == y).mean()


@pytest.mark.parametrize("protocol", ["periodic-averaging", "serial", "no-sync"])
def test_graph_runtime_evaluation_gives_each_repeats_numbers(protocol, monkeypatch):
    """3 repeats over 2 thread groups (the second padded). A deliberate error tried: running the models in
    reverse order in the graph path's loop fails here (repeats trade numbers)."""
    eng = StackedEngine(prepare(load_config(None, TINY + [f"training.protocol={protocol}"]), [0, 1, 2]))
    eng.run_rounds(2)
    xla = {**eng.evaluate("test"), **eng.evaluate("val")}
    monkeypatch.setattr(round_program, "EVAL_GRAPH_WEIGHTS", 0)
    eng._eval_fn = round_program.compiled_eval(eng.p, eng.plan)
    graph = {**eng.evaluate("test"), **eng.evaluate("val")}
    assert sorted(graph) == sorted(xla)
    for k in xla:
        np.testing.assert_allclose(graph[k], xla[k], rtol=1e-5, atol=1e-7, err_msg=k)
    p = eng.p
    for ri in range(3):
        w = [np.asarray(v, np.float64) for v in eng.final_weights(ri)]
        loss, acc = _numpy_eval(w, p.x_test, p.y_test)
        np.testing.assert_allclose(graph["test_loss"][ri], loss, rtol=1e-4)
        assert graph["test_accuracy"][ri] == pytest.approx(acc, abs=1e-9)
        loss, acc = _numpy_eval(w, p.x_val[ri], p.y_val[ri])
        np.testing.assert_allclose(graph["val_loss"][ri], loss, rtol=1e-4)
    assert len(set(np.round(graph["test_loss"], 6))) == 3  # the repeats differ: a swap would show

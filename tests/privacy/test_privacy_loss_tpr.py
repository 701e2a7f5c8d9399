"""The default loss attack's TPR at 1% FPR on every run (issue 22 item 3): `mia_loss_tpr_at_1fpr` with its
interval and floor, from `roc.summarize`, on the examples the loss attack attacks (members vs test).

A fake engine gives each example a known logit for its true class: members N(2, 1), everything else
N(0, 1). The loss is monotone in that logit, so the best TPR at 1% FPR is 1 − Φ(z_0.99 − 2) = 0.372.
Deliberate error tried: the score's sign flipped in privacy_eval (summarize(+loss)): TPR 0.003 instead
of ≈ 0.37, `test_loss_tpr_reads_the_known_shift` fails.
"""
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.stats import norm

from tffnoise.algorithms.problem import prepare
from tffnoise.algorithms.stacked import client_selection, trained_examples
from tffnoise.config import load_config
from tffnoise.privacy.roc import summarize
from tffnoise.runner.privacy_eval import membership_inference

BASE = ['data.source="digits"', "data.clients=2", "data.examples_per_client=300", "data.test_examples=300",
        "model.hidden=[4]", "training.batch_size=10", "training.sync_period=30", "training.rounds=1",
        "experiment.seed=3"]
BEST = 1 - norm.cdf(norm.ppf(0.99) - 2.0)


def _engine(problem, shift):
    """predict_proba with the true class at logit N(shift, 1) for a trained example, N(0, 1) otherwise
    (the other classes at logit 0), the same draw for the same example."""
    trained = trained_examples(problem, client_selection(problem))
    label, member = {}, set()
    for ri in range(len(problem.repeats)):
        for x, y, t in zip(problem.x_clients[ri].reshape(-1, *problem.x_clients.shape[3:]),
                           problem.y_clients[ri].ravel(), trained[ri].ravel()):
            label[x.tobytes()] = int(y)
            member |= {x.tobytes()} if t else set()
    label.update({x.tobytes(): int(y) for x, y in zip(problem.x_test, problem.y_test)})
    rng = np.random.default_rng(0)
    logit = {k: rng.normal(shift if k in member else 0.0, 1.0) for k in label}
    C = problem.num_classes

    def predict_proba(x):
        z = np.zeros((len(x), C))
        for i, row in enumerate(x):
            z[i, label[row.tobytes()]] = logit[row.tobytes()]
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        return np.broadcast_to(p, (len(problem.repeats),) + p.shape).copy()

    return SimpleNamespace(selection=client_selection(problem), predict_proba=predict_proba, noise_multiplier=None)


def _results(extra=(), shift=2.0):
    p = prepare(load_config(None, BASE + list(extra)), [0])
    return membership_inference(p, _engine(p, shift))


def test_loss_tpr_reads_the_known_shift():
    (res,) = _results()
    assert res["mia_examples"] == 300
    tpr, (lo, hi) = res["mia_loss_tpr_at_1fpr"], res["mia_loss_tpr_at_1fpr_ci"]
    assert abs(tpr - BEST) < 0.12, tpr    # SE ≈ 0.03 from the members, more from the threshold
    assert lo <= tpr <= hi and lo < BEST < hi
    assert not res["mia_loss_tpr_at_1fpr_below_resolution"]
    assert "mia_loss_tpr_at_0p1fpr" not in res   # 300 non-members: 0.1% is not measurable
    assert "mia_loss_auc" not in res and 0.5 < res["mia_auc"] < 1   # one number, one name (records.runs.SAME_AS)


def test_a_leak_free_model_sits_at_the_floor():
    (res,) = _results(shift=-8.0)   # members less confident than anything: no member above the threshold
    assert res["mia_loss_tpr_at_1fpr"] == pytest.approx(1 / 300)
    assert res["mia_loss_tpr_at_1fpr_below_resolution"]


def test_the_same_summary_the_strong_path_uses():
    (res,) = _results()
    # Independently: the summary of −loss on the attacked examples equals the run's keys.
    p = prepare(load_config(None, BASE), [0])
    seen = []
    engine = _engine(p, 2.0)
    inner = engine.predict_proba
    engine.predict_proba = lambda x: seen.append(x) or inner(x)
    membership_inference(p, engine)
    (x,) = seen
    probs = inner(x)[0]
    n = res["mia_examples"]
    key = {r.tobytes(): int(y) for r, y in zip(p.x_test, p.y_test)}
    key.update({r.tobytes(): int(y) for r, y in zip(p.x_clients[0].reshape(-1, *p.x_clients.shape[3:]),
                                                   p.y_clients[0].ravel())})
    labels = np.array([key[r.tobytes()] for r in x])
    score = np.log(probs[np.arange(len(x)), labels])
    want = summarize(score[:n], score[n:], seed=0)
    assert res["mia_loss_tpr_at_1fpr"] == pytest.approx(want["tpr_at_1fpr"])
    assert res["mia_loss_auc_ci"] == pytest.approx(want["auc_ci"])


def test_no_loss_numbers_when_the_loss_attack_is_not_asked_for():
    (res,) = _results(['privacy.attacks=["trained"]'])
    assert not [k for k in res if k.startswith("mia_loss_")] and "mia_auc" not in res
    assert res["mia_trained_auc"] is not None

"""The trained attack's classifier (privacy/logistic.py) against scikit-learn's pipeline it replaces,
`make_pipeline(StandardScaler(), LogisticRegression())`, run here to a tight tolerance: the same
optimum, and the attack's numbers as scikit-learn's default gave them. A deliberate error tried:
penalizing the intercept (scikit-learn does not) fails the first test."""
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tffnoise.privacy.logistic import StandardLogistic


def _data(kind, seed):
    rng = np.random.default_rng(seed)
    n = 700
    x = rng.normal(size=(n, 5))
    y = (rng.random(n) < 0.3).astype(float)
    x[y == 1] += [0.8, 0.0, -0.5, 0.2, 0.0]
    if kind == "constant-column":
        x[:, 4] = 1.0                        # e.g. "correct" when every example is classified right
    elif kind == "nearly-separable":
        x[:, 0] += 6.0 * y
    elif kind == "binary-feature":
        x[:, 3] = (x[:, 3] > 0.4).astype(float)
    return x, y


@pytest.mark.parametrize("kind", ["plain", "constant-column", "nearly-separable", "binary-feature"])
def test_the_same_optimum_as_scikit_learn(kind):
    x, y = _data(kind, 3)
    ref = make_pipeline(StandardScaler(), LogisticRegression(tol=1e-12, max_iter=100_000)).fit(x, y)
    got = StandardLogistic().fit(x, y)
    lr = ref[-1]
    np.testing.assert_allclose(got.coef, lr.coef_[0], rtol=1e-5, atol=1e-7)
    assert got.intercept == pytest.approx(lr.intercept_[0], rel=1e-5, abs=1e-7)
    xt, _ = _data(kind, 4)
    np.testing.assert_allclose(got.predict_proba(xt), ref.predict_proba(xt), rtol=1e-6, atol=1e-9)


def test_the_trained_attack_reads_as_with_scikit_learns_default_fit(monkeypatch):
    """The attack's AUC and advantage within 1e-3 of those from scikit-learn's default lbfgs
    (tol 1e-4), on attack-like features, over several seeds."""
    from tffnoise.privacy import mia

    rng = np.random.default_rng(0)
    for seed in range(4):
        m = rng.normal(size=(500, 5)) + [0.3, 0.1, 0.0, -0.2, 0.0]
        n = rng.normal(size=(500, 5))
        ours = mia.trained_attack(m, n, seed=seed)
        monkeypatch.setattr(mia, "_attack_model", lambda model, s: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)))
        theirs = mia.trained_attack(m, n, seed=seed)
        monkeypatch.undo()
        assert ours.auc == pytest.approx(theirs.auc, abs=1e-3)
        assert ours.advantage == pytest.approx(theirs.advantage, abs=1e-3)
        assert ours.auc > 0.55  # a signal to find: equal AUCs near 0.5 would say little

"""Membership inference: chance level when the model never saw the members, well above it when it overfits.

Tolerance for chance level: with 1000 members and 1000 non-members the AUC's standard error under the null
is sqrt((n+m+1)/(12nm)) ≈ 0.009, so |AUC − 0.5| < 0.06 is > 6 standard errors (a fixed seed besides), and
the advantage (the KS statistic) has a 95% null level of 1.36·sqrt(2/1000) ≈ 0.061; we allow 0.1.
"""
import math

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier

from tffnoise.errors import UserError
from tffnoise.privacy.mia import (
    FEATURE_NAMES,
    AttackResult,
    loss_threshold_attack,
    per_example_features,
    run_attacks,
    trained_attack,
)


@pytest.fixture(scope="module")
def data():
    # Noisy labels (flip_y) so that memorizing the training set shows up as a loss gap.
    x, y = make_classification(n_samples=3000, n_features=20, n_informative=5, n_classes=3,
                               n_clusters_per_class=1, flip_y=0.1, class_sep=0.8, random_state=0)
    return x[:1000], y[:1000], x[1000:2000], y[1000:2000], x[2000:], y[2000:]


@pytest.fixture(scope="module")
def forest(data):
    # Fully grown trees: the classic overfitted model, close to certain on its own training set.
    x_train, y_train, *_ = data
    return RandomForestClassifier(n_estimators=50, random_state=0, n_jobs=1).fit(x_train, y_train)


def test_chance_level_when_members_were_never_seen(data, forest):
    _, _, x_a, y_a, x_b, y_b = data  # both sets unseen by the model: "members" are members in name only
    results = run_attacks(forest.predict_proba(x_a), y_a, forest.predict_proba(x_b), y_b, seed=0)
    assert [r.name for r in results] == ["loss_threshold", "trained_logistic"]
    for r in results:
        assert abs(r.auc - 0.5) < 0.06, r
        assert r.advantage < 0.1, r


def test_overfitted_model_leaks_membership(data, forest):
    x_train, y_train, _, _, x_out, y_out = data
    results = run_attacks(forest.predict_proba(x_train), y_train, forest.predict_proba(x_out), y_out, seed=0)
    for r in results:
        assert r.auc > 0.7, r
        assert r.advantage > 0.3, r
        assert (r.n_members, r.n_nonmembers) == (1000, 1000)


def test_boosting_attack_on_overfitted_model(data, forest):
    x_train, y_train, _, _, x_out, y_out = data
    members = per_example_features(forest.predict_proba(x_train), y_train)
    nonmembers = per_example_features(forest.predict_proba(x_out), y_out)
    result = trained_attack(members, nonmembers, model="boosting", folds=3)
    assert result.name == "trained_boosting"
    assert result.auc > 0.7


def test_regression_losses():
    rng = np.random.default_rng(0)
    null = run_attacks(member_losses=rng.exponential(1.0, 800), nonmember_losses=rng.exponential(1.0, 800))
    assert all(abs(r.auc - 0.5) < 0.06 for r in null)
    leaky = run_attacks(member_losses=rng.exponential(0.3, 800), nonmember_losses=rng.exponential(1.0, 800))
    assert all(r.auc > 0.7 for r in leaky)


def test_features():
    probs = np.array([[0.7, 0.2, 0.1], [0.0, 1.0, 0.0], [0.5, 0.5, 0.0]])
    labels = np.array([0, 0, 1])
    f = per_example_features(probs, labels)
    assert f.shape == (3, len(FEATURE_NAMES))
    loss, conf, top, entropy, correct = f.T
    assert loss[0] == pytest.approx(-math.log(0.7))
    assert loss[1] == pytest.approx(-math.log(1e-12))  # clipped, not inf
    assert conf.tolist() == pytest.approx([0.7, 1e-12, 0.5])
    assert top.tolist() == pytest.approx([0.7, 1.0, 0.5])
    assert entropy[1] == pytest.approx(0.0, abs=1e-9)
    assert entropy[2] == pytest.approx(math.log(2))
    assert correct.tolist() == [1.0, 0.0, 0.0]  # a tie goes to the first class, here the wrong one
    assert per_example_features(losses=[0.5, 1.0]).shape == (2, 1)


def test_loss_threshold_is_perfect_on_separated_losses():
    r = loss_threshold_attack([0.1, 0.2, 0.3], [1.0, 2.0])
    assert (r.auc, r.advantage, r.n_members, r.n_nonmembers) == (1.0, 1.0, 3, 2)


def test_trained_attack_balances_classes():
    rng = np.random.default_rng(1)
    r = trained_attack(rng.normal(size=(300, 2)), rng.normal(size=(100, 2)), seed=3)
    assert (r.n_members, r.n_nonmembers) == (100, 100)
    assert abs(r.auc - 0.5) < 0.1  # only 100 a side: standard error ≈ 0.04


def test_result_to_dict():
    r = AttackResult(name="x", auc=0.5, advantage=0.0, n_members=1, n_nonmembers=2)
    assert r.to_dict() == {"name": "x", "auc": 0.5, "advantage": 0.0, "n_members": 1, "n_nonmembers": 2}


@pytest.mark.parametrize("call,match", [
    (lambda: loss_threshold_attack([], [1.0]), "member_losses"),
    (lambda: loss_threshold_attack([1.0], [[1.0]]), "nonmember_losses"),
    (lambda: loss_threshold_attack([1.0, np.nan], [1.0]), "member_losses"),
    (lambda: per_example_features(np.ones((3, 2)) / 2, [0, 1]), "labels"),
    (lambda: per_example_features(np.ones((2, 2)) / 2, [0, 2]), "labels"),
    (lambda: per_example_features(np.ones(2), [0, 1]), "probs"),
    (lambda: per_example_features(np.ones((0, 2)), []), "probs"),
    (lambda: per_example_features(np.ones((1, 2)) / 2, ["a"]), "labels"),
    (lambda: per_example_features(np.ones((1, 2)) / 2, [0], losses=[1.0]), "not both"),
    (lambda: per_example_features(), "probs and labels"),
    (lambda: trained_attack(np.ones((10, 2)), np.ones((10, 3))), "nonmember_features"),
    (lambda: trained_attack(np.ones((3, 2)), np.ones((10, 2))), "folds"),
    (lambda: trained_attack(np.ones((10, 2)), np.ones((10, 2)), folds=1), "folds"),
    (lambda: trained_attack(np.ones((10, 2)), np.ones((10, 2)), model="svm"), "model"),
    (lambda: run_attacks(np.ones((4, 2)) / 2, [0, 1, 0, 1], np.ones((4, 3)) / 3, [0, 1, 2, 0]), "class counts"),
    (lambda: run_attacks(np.ones((4, 2)) / 2, [0, 1, 0, 1], np.ones((4, 2)) / 2, [0, 1]), "nonmember_labels"),
    (lambda: run_attacks(member_losses=[1.0] * 10), "nonmember_losses"),
    (lambda: run_attacks(), "run_attacks"),
])
def test_bad_inputs_raise_user_error(call, match):
    with pytest.raises(UserError, match=match):
        call()

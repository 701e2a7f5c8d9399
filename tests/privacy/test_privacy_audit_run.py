"""The one-run audit on real training (issue 22 item 4): canaries inserted by `with_canaries`, the model
trained by the stacked engine, the bound computed in `privacy_eval.membership_inference`.

Measured here (digits, 500 examples, 1000 canaries, δ = 1e-5): a clean MLP memorizes its canaries (398
of 400 guesses right, bound 3.8); DP-SGD with noise multiplier 2 over 20 rounds gives bound 0 against an
accounted ε of several; DP-SGD trained with no noise but accounted at noise multiplier 30 is flagged
(bound about 1 against an accounted ε well below it). Deliberate errors these catch (tried): excluded
canaries left in the batch order (the coins no longer matter: bound 0 on the clean model), and the
canaries scored with the labels shuffled (bound 0). Cost: about 35 s (three small trainings): slow.
"""
import numpy as np
import pytest

from tffnoise.algorithms.problem import prepare
from tffnoise.algorithms.stacked import StackedEngine, client_selection, trained_examples
from tffnoise.config import load_config
from tffnoise.privacy.canaries import with_canaries
from tffnoise.runner.privacy_eval import epsilon_curve, membership_inference

BASE = ['data.source="digits"', "data.clients=1", "data.examples_per_client=500", "model.hidden=[256]",
        'model.activation="relu"', "training.batch_size=10", "training.sync_period=30", "training.rounds=100",
        "training.learning_rate=0.3", "experiment.seed=1", "privacy.audit=true"]


def _problem(extra):
    return with_canaries(prepare(load_config(None, BASE + extra), [0]))


def _run(extra, account_at=None):
    p = _problem(extra)
    engine = StackedEngine(p)
    engine.run_rounds(p.rounds)
    if account_at is not None:   # the broken accounting: a larger noise multiplier than the one that ran
        engine.noise_multiplier = account_at
    eps = epsilon_curve(p, engine)
    (res,) = membership_inference(p, engine)
    return res, (eps[-1] if eps else None)


def test_canaries_are_added_or_removed_by_their_coins():
    p = _problem(["training.rounds=2"])
    c = p.canaries
    assert c.x.shape[:2] == (1, 1000) and 0.45 < c.included.mean() < 0.55
    trained = trained_examples(p, client_selection(p))[0, 0]
    slots = np.flatnonzero(p.member_ids[0, 0] < 0)
    canary = -1 - p.member_ids[0, 0][slots]
    drawn = set(np.unique(p.order[0, 0]))
    # An excluded canary is never in a batch; the real examples keep their slots.
    assert all(s not in drawn for s, j in zip(slots, canary) if not c.included[0, j])
    assert c.original == 500 and c.smallest == 500 + int(c.included.sum())
    assert not trained[slots[~c.included[0, canary]]].any()
    np.testing.assert_array_equal(p.x_clients[0, 0, :500], prepare(load_config(None, BASE + ["training.rounds=2"]), [0]).x_clients[0, 0])


@pytest.mark.slow
def test_a_clean_model_memorizing_its_canaries_gives_a_bound_of_at_least_one():
    res, eps = _run([])
    assert eps is None and res["audit_epsilon_lower"] >= 1.0
    assert "audit_exceeds_epsilon" not in res


@pytest.mark.slow
def test_dp_sgd_bound_stays_below_the_accounted_epsilon():
    res, eps = _run(['privacy.mode="dp-sgd"', "privacy.noise_multiplier=2.0", "training.rounds=20"])
    assert res["audit_epsilon_lower"] <= eps and not res["audit_exceeds_epsilon"]


@pytest.mark.slow
def test_a_run_accounted_at_a_larger_noise_multiplier_is_flagged():
    res, eps = _run(['privacy.mode="dp-sgd"', "privacy.noise_multiplier=0.0", "privacy.l2_norm_clip=5.0"],
                    account_at=30.0)
    assert res["audit_epsilon_lower"] > eps and res["audit_exceeds_epsilon"]

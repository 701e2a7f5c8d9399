"""No-sync reference models (issue 22 leftovers, item 2): every learner of the N reference repeats is a
reference model, with its own membership read as `trained_examples` reads the target's learner, so each
population example is in N/2 of the N·M models and the online attacks have in models.

Deliberate error tried: counting a repeat's examples as "in" for all its learners (the repeat's union on
every learner row) fails `test_each_example_is_in_one_learner_of_each_half_that_holds_it`.
"""
import numpy as np
import pytest

from tffnoise.algorithms.problem import prepare
from tffnoise.algorithms.stacked import StackedEngine, client_selection, nosync_pick, trained_examples
from tffnoise.config import load_config
from tffnoise.privacy.reference import halves, in_mask_of, learner_examples, population, reference_problem
from tffnoise.runner.privacy_eval import membership_inference

# 20 examples per learner, batches of 5, 4 steps a round: every example drawn, nothing dropped.
SMALL = ['data.source="digits"', "data.clients=3", "data.examples_per_client=20", "data.test_examples=60",
         'training.protocol="no-sync"', "model.hidden=[4]", "training.batch_size=5", "training.sync_period=4",
         "training.rounds=1", "experiment.seed=3"]


def test_learner_membership_is_the_targets_definition():
    p = prepare(load_config(None, SMALL), [0, 1])
    each, target = learner_examples(p, client_selection(p)), trained_examples(p, client_selection(p))
    rows, pick = np.arange(2), nosync_pick(p)
    np.testing.assert_array_equal(each[rows, pick], target[rows, pick])   # the picked learner: the same
    assert each.all() and target.sum() == target[rows, pick].sum()        # the others: only as models


def test_each_example_is_in_one_learner_of_each_half_that_holds_it():
    p = prepare(load_config(None, SMALL), [0])
    pop = population(p, trained_examples(p, client_selection(p)))
    N, M = 8, p.learners
    ref, idx = reference_problem(p, pop, N, None)
    mask = in_mask_of(learner_examples(ref, client_selection(ref)), idx, len(pop.x), every_learner=True)
    assert mask.shape == (N * M, len(pop.x))
    per_repeat = mask.reshape(N, M, -1)
    assert per_repeat.sum(axis=1).max() == 1   # at most one learner of a repeat trained on an example
    for k in range(N):
        for i in range(M):
            assert set(np.flatnonzero(per_repeat[k, i])) == set(idx[k, i].tolist())
    held = np.isin(np.arange(len(pop.x)), idx.reshape(N, -1))
    # Each example is in as many models as halves hold it and a learner drew it: N/2 for most.
    half = halves(N, len(pop.x), p.cfg.experiment.seed)
    drawn = np.array([[np.isin(j, idx[k]) for j in range(len(pop.x))] for k in range(N)])
    np.testing.assert_array_equal(mask.sum(axis=0), (half & drawn).sum(axis=0))
    assert mask.sum(axis=0).max() == N // 2 and np.mean(mask.sum(axis=0)[held] == N // 2) > 0.8


# An overfit no-sync target: 3 learners × 250 digits, 40 epochs alone each; 8 reference repeats (24 models).
OVERFIT = ['data.source="digits"', "data.clients=3", "data.examples_per_client=250", "model.hidden=[256]",
           'model.activation="relu"', 'training.protocol="no-sync"', "training.batch_size=10",
           "training.sync_period=25", "training.rounds=40", "training.learning_rate=0.3", "experiment.seed=1",
           'privacy.attacks=["loss", "lira", "rmia"]', "privacy.reference_models=8"]


@pytest.mark.slow
def test_online_attacks_are_available_for_no_sync_and_beat_the_loss_attack():
    p = prepare(load_config(None, OVERFIT), [0])
    engine = StackedEngine(p)
    engine.run_rounds(p.rounds)
    (res,) = membership_inference(p, engine)
    n = res["mia_strong_examples"]
    assert n == 250
    tpr = {a: max(res[f"mia_{a}_tpr_at_1fpr"], 1 / n) for a in ("pop_loss", "lira", "rmia", "lira_offline")}
    assert tpr["lira"] >= tpr["pop_loss"] and tpr["rmia"] >= tpr["pop_loss"], tpr
    assert res["mia_lira_auc"] > res["mia_pop_loss_auc"], res

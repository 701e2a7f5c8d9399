"""Reference models (issue 22 item 1): the population, the balanced halves, the reference cell's seeds and
recipe; and, slow, the attacks against known behaviour on digits (item 5).

Deliberate errors these catch (each tried): halves from independent coins (an example in 5 of 8 models),
reference repeat ids that overlap the real repeats' (0, 1, ...), the population's members read from the
learners' pools instead of `trained_examples` (dropped batches counted as members), and reference models
re-deriving their noise multiplier from target_epsilon (a different sigma for their fewer steps).
"""
import numpy as np
import pytest

from tffnoise.algorithms.problem import prepare
from tffnoise.algorithms.stacked import client_selection, trained_examples
from tffnoise.config import load_config
from tffnoise.privacy.reference import REFERENCE_REPEAT_BASE, halves, population, reference_problem

# 22 examples per learner, batches of 5, 2 steps: 10 drawn per learner, 12 never trained on.
BASE = ['data.source="digits"', "data.clients=3", "data.examples_per_client=22", "data.test_examples=60",
        "model.hidden=[4]", "training.batch_size=5", "training.sync_period=2", "training.rounds=1", "experiment.seed=3"]


@pytest.fixture(scope="module")
def small():
    p = prepare(load_config(None, BASE), [0, 1])
    return p, trained_examples(p, client_selection(p))


@pytest.mark.parametrize("n", [1, 2, 7, 8])
def test_halves_are_balanced(n):
    h = halves(n, 1000, seed=0)
    assert h.shape == (n, 1000)
    counts = h.sum(axis=0)
    assert counts.max() - counts.min() <= 1 and abs(counts.mean() - n / 2) <= 0.5
    assert abs(h.mean() - 0.5) < 0.05
    np.testing.assert_array_equal(h, halves(n, 1000, seed=0))


def test_population_members_are_what_the_target_trained_on(small):
    p, trained = small
    pop = population(p, trained)
    assert len(pop.x) >= 2 * 3 * 22  # both repeats' pools, topped up to twice one pool
    for ri in range(2):
        assert pop.target_in[ri].sum() == 3 * 10   # 10 drawn per learner, not the 22 each holds
        member_rows = {r.tobytes() for r in p.x_clients[ri][trained[ri]]}
        assert {r.tobytes() for r in pop.x[pop.target_in[ri]]} == member_rows
    test_rows = {r.tobytes() for r in p.x_test}
    assert not test_rows & {r.tobytes() for r in pop.x}   # disjoint from the test set


def test_reference_problem_seeds_and_recipe(small):
    p, trained = small
    pop = population(p, trained)
    ref, idx = reference_problem(p, pop, 4, noise_multiplier=None)
    assert ref.repeats == [REFERENCE_REPEAT_BASE + k for k in range(4)]
    assert ref.x_clients.shape[:2] == (4, 3) and idx.shape[:2] == (4, 3)
    assert not set(map(int, ref.learner_keys.ravel())) & set(map(int, p.learner_keys.ravel()))
    assert ref.cfg.training == p.cfg.training and ref.cfg.model == p.cfg.model
    n_ref = idx.shape[2]
    assert ref.rounds == max(1, round(p.rounds * n_ref / 22))
    for k in range(4):  # each reference's learners hold distinct population examples
        assert len(np.unique(idx[k])) == idx[k].size


def test_reference_models_keep_the_targets_noise_multiplier():
    cfg = load_config(None, BASE + ['privacy.mode="dp-sgd"', "privacy.target_epsilon=5.0",
                                    "privacy.noise_multiplier=1.0"])
    p = prepare(cfg, [0])
    pop = population(p, trained_examples(p, client_selection(p)))
    ref, _ = reference_problem(p, pop, 2, noise_multiplier=0.77)
    assert ref.cfg.privacy.noise_multiplier == 0.77 and ref.cfg.privacy.target_epsilon == 0.0


def test_a_training_split_that_does_not_match_is_refused(small):
    from tffnoise.errors import UserError
    from tffnoise.privacy.reference import training_split

    p, trained = small
    x, y, ids = training_split(p)
    with pytest.raises(UserError, match="does not match"):
        population(p, trained, split=(x[::-1].copy(), y, ids))

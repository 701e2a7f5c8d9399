"""The cheaper attack path gives the attacks what the old one gave: each repeat's attacked model on its
own examples (not every model on every repeat's examples), features computed once, checkpoints spaced
so that writing them stays a small share of a cell."""
import numpy as np
import pytest

from tffnoise.config import load_config
from tffnoise.errors import UserError
from tffnoise.privacy.mia import per_example_features, run_attacks
from tffnoise.runner import cell
from tffnoise.runner.privacy_eval import attacked_outputs

TINY = ["data.clients=3", "data.examples_per_client=20", "model.hidden=[8]", "training.batch_size=5",
        "training.sync_period=2", "training.rounds=2", "experiment.repeats=3"]


class _Whole:
    """An engine without `predict_proba_each`: attacked_outputs slices its predict_proba."""

    def __init__(self, eng):
        self.e = eng

    def predict_proba(self, x):
        return self.e.predict_proba(x)


@pytest.mark.parametrize("protocol", ["no-sync", "periodic-averaging", "serial"])
def test_each_repeat_on_its_own_examples_matches_every_model_on_all(protocol):
    from tffnoise.algorithms.problem import prepare
    from tffnoise.algorithms.stacked import StackedEngine

    eng = StackedEngine(prepare(load_config(None, TINY + [f"training.protocol={protocol}"]), [0, 1, 2]))
    eng.run_rounds(2)
    rng = np.random.default_rng(0)
    xs = [rng.random((n,) + eng.p.x_test.shape[1:]).astype(np.float32) for n in (5, 0, 7)]
    each, whole = attacked_outputs(eng, xs), attacked_outputs(_Whole(eng), xs)
    assert [len(o) for o in each] == [5, 0, 7]
    for a, b in zip(each, whole):  # equal to float32 rounding (another GEMM shape)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # the picked model, not another repeat's or another learner's
    assert not np.allclose(attacked_outputs(eng, [xs[2], xs[2], xs[2]])[0], each[2], atol=1e-6)


def test_features_passed_once_give_the_same_attacks_as_probabilities():
    rng = np.random.default_rng(1)
    pm, pn = rng.dirichlet(np.ones(4) * 0.5, 300), rng.dirichlet(np.ones(4), 300)
    ym, yn = pm.argmax(1), rng.integers(0, 4, 300)
    a = run_attacks(pm, ym, pn, yn, seed=3)
    b = run_attacks(member_features=per_example_features(pm, ym), nonmember_features=per_example_features(pn, yn), seed=3)
    assert [r.to_dict() for r in a] == [r.to_dict() for r in b]
    with pytest.raises(UserError, match="not probs/labels and features"):
        run_attacks(pm, ym, pn, yn, member_features=per_example_features(pm, ym))


def test_checkpoints_stretch_to_a_tenth_of_the_time_and_zero_means_every_round(monkeypatch):
    monkeypatch.setattr(cell, "CHECKPOINT_EVERY_S", 2.0)
    assert cell.checkpoint_interval(0.05) == 2.0
    assert cell.checkpoint_interval(1.5) == pytest.approx(1.5 / cell.CHECKPOINT_SHARE)
    monkeypatch.setattr(cell, "CHECKPOINT_EVERY_S", 0.0)
    assert cell.checkpoint_interval(5.0) == 0.0


def test_an_image_stand_in_grows_to_what_the_learners_need_and_small_runs_keep_their_data():
    """The Fig. 4.4 preset (10 × 500) runs on the synthetic MNIST stand-in; a run needing fewer than its
    default 4,000 images gets exactly the data it had."""
    from tffnoise.algorithms.problem import load_data
    from tffnoise.data.synthetic import DEFAULT_TRAIN, make

    def cfg(n):
        return load_config(None, ['data.source="mnist"', "data.synthetic=true", "data.clients=10",
                                  f"data.examples_per_client={n}", "data.test_examples=100"])
    assert len(load_data(cfg(500)).y_train) == 5000
    small = load_data(cfg(60))
    assert len(small.y_train) == DEFAULT_TRAIN
    np.testing.assert_array_equal(small.x_train, make("mnist", None, 100, 0).x_train)

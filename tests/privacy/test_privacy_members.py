"""Membership inference attacks the model that saw the members (issue 17 item 4): members are exactly
the attacked model's own training examples (the batches that reached it), in the attacks and in
members.npz; for no-sync that is the picked learner's, not every learner's."""
from types import SimpleNamespace

import numpy as np
import pytest

from tffnoise.algorithms.problem import prepare
from tffnoise.algorithms.stacked import client_selection, nosync_pick, trained_examples
from tffnoise.config import load_config

# 22 examples per learner, batches of 5, 2 steps: 10 drawn per learner, 12 never trained on
BASE = ['data.source="digits"', "data.clients=3", "data.examples_per_client=22", "data.test_examples=60",
        "model.hidden=[4]", "training.batch_size=5", "training.sync_period=2", "training.rounds=1", "experiment.seed=3"]


def _problem(extra, repeats=(0, 1)):
    return prepare(load_config(None, BASE + extra), list(repeats))


def _drawn(problem, ri, i, rounds=None):
    b = problem.steps_per_round
    rounds = range(problem.rounds) if rounds is None else rounds
    return np.unique(np.concatenate([problem.order[ri, i, t * b:(t + 1) * b].ravel() for t in rounds] or [np.array([], int)]))


def _fake_engine(problem):
    seen = []

    def predict_proba(x):
        seen.append(x)
        return np.full((len(problem.repeats), len(x), problem.num_classes), 1.0 / problem.num_classes, np.float32)

    return SimpleNamespace(selection=client_selection(problem), predict_proba=predict_proba,
                           final_weights=lambda ri: [w[ri] for w in problem.init_weights]), seen


def test_no_sync_members_are_the_picked_learners_own_examples():
    p = _problem(['training.protocol="no-sync"'])
    mask = trained_examples(p, client_selection(p))
    pick = nosync_pick(p)
    for ri in range(2):
        for i in range(3):
            expected = _drawn(p, ri, i) if i == pick[ri] else np.array([], int)
            np.testing.assert_array_equal(np.flatnonzero(mask[ri, i]), expected)
    assert mask[0, pick[0]].sum() == 10  # not the 12 examples no batch drew


def test_the_attack_uses_exactly_those_members():
    from tffnoise.runner import privacy_eval

    p = _problem(['training.protocol="no-sync"'])
    engine, seen = _fake_engine(p)
    results = privacy_eval.membership_inference(p, engine)
    (x,) = seen
    pick, offset = nosync_pick(p), 0
    for ri, res in enumerate(results):
        n = res["mia_examples"]
        own = {r.tobytes() for r in p.x_clients[ri, pick[ri]][_drawn(p, ri, pick[ri])]}
        members = x[offset:offset + n]
        assert n == 10 and {r.tobytes() for r in members} == own
        offset += 2 * n


def test_fedavg_members_are_the_selected_rounds_batches():
    p = _problem(['training.protocol="fedavg"', "training.clients_per_round=1", "training.rounds=3"], repeats=(0,))
    sel = client_selection(p)
    mask = trained_examples(p, sel)
    for i in range(3):
        rounds = [t for t in range(3) if sel[t, 0, i]]
        np.testing.assert_array_equal(np.flatnonzero(mask[0, i]), _drawn(p, 0, i, rounds))
    assert mask.sum() < sum(len(_drawn(p, 0, i)) for i in range(3))  # unselected rounds are not members


@pytest.mark.parametrize("protocol", ["no-sync", "periodic-averaging"])
def test_members_npz_holds_the_attacked_models_training_examples(tmp_path, protocol):
    from tffnoise.runner.cell import _save_artifacts

    p = _problem([f'training.protocol="{protocol}"'])
    engine, _ = _fake_engine(p)
    store = SimpleNamespace(run_dir=lambda run_id: tmp_path)
    model = SimpleNamespace(set_weights=lambda w: None, save=lambda path: open(path, "wb").close())
    pick = nosync_pick(p)
    for ri in range(2):
        _save_artifacts(store, SimpleNamespace(run_id="r"), engine, p, ri, model)
        saved = np.load(tmp_path / "members.npz")
        learners = [pick[ri]] if protocol == "no-sync" else range(3)
        expected = np.concatenate([p.member_ids[ri, i][_drawn(p, ri, i)] for i in learners])
        assert sorted(saved["member_ids"].tolist()) == sorted(expected.tolist())
        np.testing.assert_array_equal(saved["test_ids"], p.test_ids)


def test_a_model_no_client_reached_has_no_members_to_attack():
    from tffnoise.runner import privacy_eval

    p = _problem(['training.protocol="fedavg"', "training.clients_per_round=1", 'privacy.mode="dp-fedavg"'], repeats=(0,))
    engine, seen = _fake_engine(p)
    engine.selection = np.zeros_like(engine.selection)  # Poisson sampling drew nobody in any round
    (res,) = privacy_eval.membership_inference(p, engine)
    assert res["mia_examples"] == 0 and res["mia_auc"] is None and not seen

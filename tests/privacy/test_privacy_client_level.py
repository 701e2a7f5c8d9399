"""Client-level membership inference for DP-FedAvg (issue 22 item 2), on digits cut into 100 clients of 5.

Measured (seed 1, 30 rounds of 5 local epochs, 8 reference models, 100 member and 100 held-out clients,
so the 1% FPR floor is 0.01 and the AUC's null standard error about 0.04):
* clean fedavg (test accuracy 0.93): client-level TPR@1%FPR LiRA 0.16, offline LiRA 0.22, RMIA 0.08,
  loss 0.01 (the floor); AUC LiRA 0.68, offline 0.75, loss 0.59.
* DP-FedAvg, clip 1, all clients every round, 8 reference models: z = 50 (accuracy 0.11) AUC LiRA 0.50,
  offline 0.50, loss 0.50; z = 20: 0.55 / 0.56 / 0.57; z = 5: 0.54 / 0.64 / 0.58; z = 0 (clipping
  only): 0.66 / 0.74 / 0.59. The test's cheaper setting (15 rounds, 4 reference models): z = 50 gives
  0.53 / 0.50 / 0.48, z = 0 gives 0.48 / 0.68 / 0.59 (online LiRA is weak with 2 models a side).
Deliberate errors these catch (tried): the DP-FedAvg test run at z = 0, i.e. the noise dropped
(offline LiRA AUC 0.68); trained_examples reading the selection one round late (member clients differ);
the reference models' client in-mask shuffled (LiRA TPR at the floor).
"""
import numpy as np
import pytest

from tffnoise.algorithms.problem import prepare
from tffnoise.algorithms.selection import client_selection
from tffnoise.algorithms.stacked import StackedEngine
from tffnoise.config import load_config
from tffnoise.errors import ConfigError

CLIENTS = ['data.source="digits"', "data.clients=100", "data.examples_per_client=5", "model.hidden=[64]",
           'model.activation="relu"', "training.batch_size=5", 'training.protocol="fedavg"',
           "training.sync_period=5", "training.learning_rate=0.3", "experiment.seed=1"]


def _trained(extra):
    p = prepare(load_config(None, CLIENTS + extra), [0])
    engine = StackedEngine(p)
    engine.run_rounds(p.rounds)
    return p, engine


def test_member_clients_are_exactly_the_selected_ones():
    from tffnoise.privacy.client_level import client_population, member_clients

    p = prepare(load_config(None, CLIENTS + ["training.rounds=3", "training.clients_per_round=10"]), [0, 1])
    sel = client_selection(p)
    members = member_clients(p, sel)
    for ri in range(2):
        assert set(np.flatnonzero(members[ri])) == set(np.flatnonzero(sel[:3, ri].any(axis=0)))
    assert 10 <= members[0].sum() <= 30   # 3 rounds of 10 clients: some clients never selected
    x, y, target_in, nonmember = client_population(p, sel)
    assert x.shape[:2] == (len(x), 5) and target_in.shape == (2, len(x))
    assert nonmember.sum() == 100 and not (target_in.any(axis=0) & nonmember).any()
    assert np.array_equal(target_in[1, 100:200], members[1]) and not target_in[0, 100:].any()
    # Held-out clients share no example with any learner of any repeat.
    held = {row.tobytes() for row in x[nonmember].reshape(-1, x.shape[-1])}
    assert not held & {row.tobytes() for row in p.x_clients.reshape(-1, x.shape[-1])}


def test_reference_clients_are_balanced_halves():
    from tffnoise.privacy.client_level import reference_clients

    chosen = reference_clients(8, 200, 100, seed=1)
    in_mask = np.zeros((8, 200), bool)
    for k in range(8):
        in_mask[k, chosen[k]] = True
    assert (in_mask.sum(axis=0) == 4).all() and (in_mask.sum(axis=1) == 100).all()
    small = reference_clients(4, 150, 100, seed=1)   # halves of 75: topped up from the other half
    assert all(len(set(c)) == 100 for c in small)


@pytest.mark.parametrize("privacy, field", [
    ({"attacks": ["lira"], "mode": "dp-fedavg"}, "data.clients"),
    ({"attacks": ["lira"], "mode": "dp-fedavg", "audit": True}, "privacy.audit"),
])
def test_client_level_refusals(privacy, field):
    from tffnoise.config.validate import config_from_dict

    clients = 100 if field == "privacy.audit" else 99
    with pytest.raises(ConfigError) as err:
        config_from_dict({"privacy": privacy, "training": {"protocol": "fedavg"},
                          "data": {"clients": clients, "source": "digits"}})
    assert err.value.field == field


@pytest.mark.slow
def test_client_lira_beats_the_loss_attack_on_an_overfit_fedavg_model():
    from tffnoise.privacy.client_level import client_attacks

    p, engine = _trained(["training.rounds=30"])
    (res,) = client_attacks(p, engine, ["lira", "rmia"], 8)
    assert res["mia_client_members"] == 100 and res["mia_client_nonmembers"] == 100
    floor = 1 / res["mia_client_members"]
    loss = max(res["mia_client_loss_tpr_at_1fpr"], floor)
    for name in ("lira", "lira_offline"):
        assert res[f"mia_client_{name}_tpr_at_1fpr"] >= max(5 * floor, 3 * loss), name
        assert res[f"mia_client_{name}_auc"] > res["mia_client_loss_auc"] + 0.05, name
    assert "mia_client_rmia_auc" in res and "mia_lira_auc" not in res   # client-level names only


@pytest.mark.slow
def test_dp_fedavg_with_large_noise_leaves_client_auc_near_one_half():
    """Through the run's own path (membership_inference): DP-FedAvg with >= 100 clients is client-level."""
    from tffnoise.runner.privacy_eval import membership_inference

    p, engine = _trained(["training.rounds=15", 'privacy.mode="dp-fedavg"', "privacy.noise_multiplier=50.0",
                          'privacy.attacks=["loss", "lira"]', "privacy.reference_models=4"])
    (res,) = membership_inference(p, engine)
    assert "mia_lira_auc" not in res and res["mia_client_nonmembers"] == 100
    for name in ("lira", "lira_offline", "loss"):
        assert abs(res[f"mia_client_{name}_auc"] - 0.5) < 0.1, name

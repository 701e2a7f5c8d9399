"""Accounting against figures measured with dp-accounting 0.4.3 and tensorflow-privacy 0.9.0.

The reference setting is tensorflow-privacy's MNIST tutorial: 60000 examples, batch 256 (q = 256/60000),
noise multiplier 1.1, 60 epochs = ceil(60 * 60000 / 256) = 14063 steps, delta = 1e-5. All figures use
add-or-remove-one adjacency.
"""
import math

import pytest

from tffnoise.errors import UserError
from tffnoise.privacy import accounting
from tffnoise.privacy.accounting import (
    classic_rdp_epsilon,
    dp_fedavg_epsilon,
    dp_sgd_epsilon,
    epsilon_per_round,
    noise_multiplier_for_epsilon,
)

# scipy (under dp-accounting) still calls np.find_common_type, deprecated in numpy 1.25.
pytestmark = pytest.mark.filterwarnings("ignore:np.find_common_type is deprecated:DeprecationWarning")

Q = 256 / 60000
STEPS = 14063
REF = dict(sample_rate=Q, steps=STEPS, delta=1e-5)


# ---------------------------------------------------------------------------------------------- reference values


def test_rdp_poisson_reference():
    # Poisson-sampled Gaussian, dp-accounting's RDP accountant and its (Canonne-Kamath-Steinke) conversion.
    assert dp_sgd_epsilon(noise_multiplier=1.1, **REF) == pytest.approx(2.597, abs=1e-3)


def test_pld_poisson_reference():
    # Same event, PLD accountant at dp-accounting's default discretization 1e-4: tighter than RDP.
    assert dp_sgd_epsilon(noise_multiplier=1.1, accountant="pld", **REF) == pytest.approx(2.382, abs=1e-3)


def test_classic_conversion_reference():
    # Same RDP curve, classic conversion min_α RDP(α) + log(1/δ)/(α−1) on orders 1.1–10.9 and 12–63:
    # the "ε ≈ 3.0" tensorflow-privacy's tutorial docs quote.
    eps = classic_rdp_epsilon(noise_multiplier=1.1, **REF)
    assert eps == pytest.approx(3.008, abs=2e-3)
    assert eps == pytest.approx(3.0, abs=0.05)
    assert eps > dp_sgd_epsilon(noise_multiplier=1.1, **REF)


def test_tensorflow_privacy_statement_figures():
    # compute_dp_sgd_privacy_statement(60000, 256, 60, 1.1, 1e-5) with its default used_microbatching=True
    # halves the noise multiplier (sensitivity doubled) and gives 16.384 assuming Poisson sampling over
    # ceil(60 / q) = 14063 steps, and 164.961 assuming each example once per epoch with no amplification
    # (a Gaussian mechanism composed 60 times): our "shuffle" bound at 60 full epochs of 234 batches.
    assert dp_sgd_epsilon(noise_multiplier=0.55, **REF) == pytest.approx(16.384, abs=2e-3)
    eps = dp_sgd_epsilon(noise_multiplier=0.55, sample_rate=Q, steps=60 * 234, delta=1e-5, sampling="shuffle")
    assert eps == pytest.approx(164.961, abs=2e-3)


def test_shuffle_is_the_no_amplification_bound():
    # 14063 steps of 234-batch epochs reach into a 61st epoch, so an example can be in 61 batches.
    assert accounting.shuffle_participations(STEPS, Q) == 61
    assert accounting.shuffle_participations(60 * 234, Q) == 60
    eps = dp_sgd_epsilon(noise_multiplier=1.1, sampling="shuffle", **REF)
    assert eps == pytest.approx(57.653, abs=2e-3)
    # Composing Gaussians k times is one Gaussian with σ/√k.
    single = dp_sgd_epsilon(noise_multiplier=1.1 / math.sqrt(61), sample_rate=1.0, steps=1, delta=1e-5)
    assert eps == pytest.approx(single, rel=1e-9)
    assert eps > 20 * dp_sgd_epsilon(noise_multiplier=1.1, **REF)


def test_shuffle_participations_rounding():
    assert accounting.shuffle_participations(30, 0.1) == 3  # 1/0.1 is exactly 10 steps per epoch
    assert accounting.shuffle_participations(31, 0.1) == 4
    assert accounting.shuffle_participations(0, 0.1) == 0
    assert accounting.shuffle_participations(7, 1.0) == 7
    assert accounting.shuffle_participations(10, 1 / 3) == 4


# ---------------------------------------------------------------------------------------------- shape of ε


@pytest.mark.parametrize("sampling", ["poisson", "shuffle"])
def test_more_noise_less_epsilon(sampling):
    eps = [dp_sgd_epsilon(noise_multiplier=s, sample_rate=0.01, steps=1000, delta=1e-5, sampling=sampling)
           for s in (0.7, 1.0, 1.5, 3.0)]
    assert all(a > b for a, b in zip(eps, eps[1:]))


@pytest.mark.parametrize("sampling", ["poisson", "shuffle"])
def test_more_steps_more_epsilon(sampling):
    eps = [dp_sgd_epsilon(noise_multiplier=1.0, sample_rate=0.01, steps=n, delta=1e-5, sampling=sampling)
           for n in (100, 500, 1000, 5000)]
    assert all(a < b for a, b in zip(eps, eps[1:]))


def test_edge_cases():
    assert dp_sgd_epsilon(noise_multiplier=1.0, sample_rate=0.01, steps=0, delta=1e-5) == 0.0
    assert dp_sgd_epsilon(noise_multiplier=0.0, sample_rate=0.01, steps=1, delta=1e-5) == math.inf
    assert dp_sgd_epsilon(noise_multiplier=0.0, sample_rate=0.01, steps=1, delta=1e-5, accountant="pld") == math.inf


# ---------------------------------------------------------------------------------------------- per round


@pytest.mark.parametrize("sampling", ["poisson", "shuffle"])
def test_per_round_rdp_increases_and_ends_at_one_shot(sampling):
    kw = dict(noise_multiplier=1.1, sample_rate=Q, delta=1e-5, sampling=sampling)
    eps = epsilon_per_round(steps_per_round=234, rounds=20, **kw)
    assert len(eps) == 20
    assert all(a < b for a, b in zip(eps, eps[1:]))
    assert eps[-1] == dp_sgd_epsilon(steps=234 * 20, **kw)


def test_per_round_rdp_shuffle_plateaus_within_an_epoch():
    # Ten 100-step rounds per 1000-step epoch: ε only moves when a new epoch starts.
    eps = epsilon_per_round(noise_multiplier=1.0, sample_rate=0.001, steps_per_round=100, rounds=25,
                            delta=1e-5, sampling="shuffle")
    assert len(set(eps)) == 3
    assert eps == sorted(eps)


@pytest.mark.parametrize("sampling", ["poisson", "shuffle"])
def test_per_round_pld_increases_and_ends_at_one_shot(sampling):
    kw = dict(noise_multiplier=1.5, sample_rate=0.05, delta=1e-5, accountant="pld", sampling=sampling)
    eps = epsilon_per_round(steps_per_round=20, rounds=4, **kw)
    assert all(a < b for a, b in zip(eps, eps[1:]))
    assert eps[-1] == pytest.approx(dp_sgd_epsilon(steps=80, **kw), rel=1e-3)


def test_per_round_zero_rounds_and_no_noise():
    assert epsilon_per_round(noise_multiplier=1.0, sample_rate=0.1, steps_per_round=5, rounds=0, delta=1e-5) == []
    assert epsilon_per_round(noise_multiplier=0.0, sample_rate=0.1, steps_per_round=5, rounds=2,
                             delta=1e-5) == [math.inf, math.inf]


# ---------------------------------------------------------------------------------------------- inversion


def test_target_epsilon_round_trip_reference():
    sigma = noise_multiplier_for_epsilon(target_epsilon=2.597, **REF)
    assert sigma == pytest.approx(1.1, abs=2e-3)
    assert dp_sgd_epsilon(noise_multiplier=sigma, **REF) <= 2.597
    assert dp_sgd_epsilon(noise_multiplier=sigma - 1e-3, **REF) > 2.597


@pytest.mark.parametrize("accountant,sampling", [("rdp", "poisson"), ("rdp", "shuffle"), ("pld", "poisson")])
def test_target_epsilon_round_trip(accountant, sampling):
    kw = dict(sample_rate=0.05, steps=60, delta=1e-5, accountant=accountant, sampling=sampling)
    sigma = noise_multiplier_for_epsilon(target_epsilon=1.0, tol=0.03, **kw)  # a coarse tol keeps PLD quick
    assert dp_sgd_epsilon(noise_multiplier=sigma, **kw) <= 1.0
    assert dp_sgd_epsilon(noise_multiplier=sigma - 0.03, **kw) > 1.0


def test_target_epsilon_zero_steps_needs_no_noise():
    assert noise_multiplier_for_epsilon(target_epsilon=1.0, sample_rate=0.1, steps=0, delta=1e-5) == 0.0


def test_unreachable_target_epsilon():
    with pytest.raises(UserError, match="privacy.target_epsilon"):
        noise_multiplier_for_epsilon(target_epsilon=1e-4, sample_rate=1.0, steps=10**6, delta=1e-5)


# ---------------------------------------------------------------------------------------------- DP-FedAvg


def test_fedavg_all_clients_is_unsampled_gaussian():
    kw = dict(noise_multiplier=1.0, rounds=50, delta=1e-5)
    full = dp_fedavg_epsilon(clients_per_round=100, num_clients=100, **kw)
    assert dp_fedavg_epsilon(clients_per_round=0, num_clients=100, **kw) == full
    assert full == dp_sgd_epsilon(noise_multiplier=1.0, sample_rate=1.0, steps=50, delta=1e-5)
    assert dp_fedavg_epsilon(clients_per_round=100, num_clients=100, sampling="shuffle", **kw) == full


def test_fedavg_sampling_clients_helps():
    kw = dict(noise_multiplier=1.0, num_clients=1000, rounds=100, delta=1e-5)
    sampled = dp_fedavg_epsilon(clients_per_round=50, **kw)
    assert sampled == dp_sgd_epsilon(noise_multiplier=1.0, sample_rate=0.05, steps=100, delta=1e-5)
    assert sampled < dp_fedavg_epsilon(clients_per_round=0, **kw)


@pytest.mark.parametrize("kw,field", [
    (dict(clients_per_round=11, num_clients=10), "training.clients_per_round"),
    (dict(clients_per_round=-1, num_clients=10), "training.clients_per_round"),
    (dict(clients_per_round=1, num_clients=0), "data.clients"),
])
def test_fedavg_validation(kw, field):
    with pytest.raises(UserError, match=field):
        dp_fedavg_epsilon(noise_multiplier=1.0, rounds=1, delta=1e-5, **kw)


# ---------------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize("change,field", [
    (dict(noise_multiplier=-0.1), "privacy.noise_multiplier"),
    (dict(noise_multiplier=math.inf), "privacy.noise_multiplier"),
    (dict(noise_multiplier="1"), "privacy.noise_multiplier"),
    (dict(sample_rate=0.0), "privacy.sample_rate"),
    (dict(sample_rate=1.01), "privacy.sample_rate"),
    (dict(sample_rate=math.nan), "privacy.sample_rate"),
    (dict(delta=0.0), "privacy.delta"),
    (dict(delta=1.0), "privacy.delta"),
    (dict(steps=-1), "privacy.steps"),
    (dict(steps=1.5), "privacy.steps"),
    (dict(accountant="moments"), "privacy.accountant"),
    (dict(sampling="uniform"), "privacy.sampling"),
])
def test_validation_names_the_field(change, field):
    kw = dict(noise_multiplier=1.0, sample_rate=0.01, steps=10, delta=1e-5) | change
    with pytest.raises(UserError, match=field):
        dp_sgd_epsilon(**kw)


def test_validation_message_is_one_line_with_value_and_allowed():
    with pytest.raises(UserError) as err:
        dp_sgd_epsilon(noise_multiplier=1.0, sample_rate=2.0, steps=10, delta=1e-5)
    assert str(err.value) == "privacy.sample_rate: 2.0 is not allowed; expected a number in (0, 1]"


def test_bad_target_epsilon():
    with pytest.raises(UserError, match="privacy.target_epsilon"):
        noise_multiplier_for_epsilon(target_epsilon=0.0, sample_rate=0.01, steps=10, delta=1e-5)

"""Privacy accounting for DP-SGD and DP-FedAvg: ε for a run, ε after each round, and the noise for a target ε.

All figures use add-or-remove-one adjacency (one example for DP-SGD, one client for DP-FedAvg) and cover the
release of every intermediate model, not only the last one.

Two descriptions of how batches are drawn (`sampling`):

* "poisson": every step includes each example independently with probability q. This is what the classic
  DP-SGD analyses (and tensorflow-privacy's tutorials) assume; it gets privacy amplification by subsampling.
* "shuffle": what tffnoise actually does: shuffle, cut into fixed-size batches, each example used once per
  epoch. No amplification result is known to hold for this, and the Poisson figure can badly understate the
  real loss (Chua et al., "How Private are DP-SGD Implementations?", ICML 2024). So we use the conservative
  bound: an example sits in exactly one batch per epoch, so each epoch is one Gaussian mechanism on it, and
  an example can be in at most ceil(steps / floor(1/q)) batches in all.

  dp-accounting 0.4.3 does have `SampledWithoutReplacementDpEvent` and its RDP accountant supports it, but it
  is not used for "shuffle" on purpose: it describes a fresh, independent fixed-size draw at every step (an
  example may be used twice in an epoch or never), not a shuffled pass, and the accountant only takes it under
  replace-one adjacency, so its ε would not even be comparable with the others here.

dp-accounting is imported inside the functions so that importing this module (the TUI, `--help`) stays cheap.
"""
from __future__ import annotations

import math

import numpy as np

from tffnoise.errors import ConfigError, UserError

ACCOUNTANTS = ("rdp", "pld")
SAMPLINGS = ("poisson", "shuffle")

# The orders tensorflow-privacy's tutorials used with the classic conversion; with them the MNIST tutorial's
# setting (q = 256/60000, σ = 1.1, 60 epochs, δ = 1e-5) gives the ε ≈ 3.0 its docs quote.
CLASSIC_ORDERS = tuple([1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)))

# dp-accounting's default grid for privacy-loss values; per-round and one-shot PLD figures share it.
PLD_DISCRETIZATION = 1e-4

# Above this the noise would drown any useful update; a target ε that needs more is treated as unreachable.
MAX_NOISE_MULTIPLIER = 1e3


# ---------------------------------------------------------------------------------------------- validation


def _check_number(field: str, value, *, low: float, high: float = math.inf,
                  low_open: bool = False, high_open: bool = False, allowed: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(field, value, allowed)
    value = float(value)
    if math.isnan(value):
        raise ConfigError(field, value, allowed)
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high:
        raise ConfigError(field, value, allowed)
    return value


def _check_int(field: str, value, *, low: int, allowed: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ConfigError(field, value, allowed)
    return int(value)


def _check_choice(field: str, value, choices) -> str:
    if value not in choices:
        raise ConfigError(field, value, "one of " + ", ".join(repr(c) for c in choices))
    return value


def _check_common(noise_multiplier, sample_rate, delta, accountant, sampling):
    sigma = _check_number("privacy.noise_multiplier", noise_multiplier, low=0.0, allowed="a number >= 0")
    if math.isinf(sigma):
        raise ConfigError("privacy.noise_multiplier", noise_multiplier, "a finite number >= 0")
    q = _check_number("privacy.sample_rate", sample_rate, low=0.0, high=1.0, low_open=True,
                      allowed="a number in (0, 1]")
    d = _check_number("privacy.delta", delta, low=0.0, high=1.0, low_open=True, high_open=True,
                      allowed="a number in (0, 1)")
    _check_choice("privacy.accountant", accountant, ACCOUNTANTS)
    _check_choice("privacy.sampling", sampling, SAMPLINGS)
    return sigma, q, d


# ---------------------------------------------------------------------------------------------- events


def shuffle_participations(steps: int, sample_rate: float) -> int:
    """How many batches one example can be in after `steps` shuffled steps.

    An epoch has at least floor(1/q) full batches (exactly that many when the last partial batch is
    dropped), and an example is in at most one batch per epoch; the 1e-9 keeps 1/q = 234.999999… from
    losing a batch to rounding.
    """
    steps_per_epoch = max(1, math.floor(1.0 / sample_rate + 1e-9))
    return -(-steps // steps_per_epoch)


def _step_event(sigma: float, q: float, sampling: str):
    """The DP event of one unit of composition: one step (poisson) or one participation (shuffle)."""
    import dp_accounting

    gaussian = dp_accounting.GaussianDpEvent(sigma)
    if sampling == "poisson":
        return gaussian if q == 1.0 else dp_accounting.PoissonSampledDpEvent(q, gaussian)
    return gaussian


def _units(steps: int, q: float, sampling: str) -> int:
    """How many times the step event composes over `steps` steps."""
    return steps if sampling == "poisson" else shuffle_participations(steps, q)


def _rdp_accountant(orders=None):
    from dp_accounting.rdp import RdpAccountant

    return RdpAccountant(orders=list(orders) if orders is not None else None)


def _pld_accountant():
    from dp_accounting.pld import PLDAccountant

    return PLDAccountant(value_discretization_interval=PLD_DISCRETIZATION)


def _unit_rdp(sigma: float, q: float, sampling: str, orders=None):
    """RDP of one unit at every order; RDP adds up under composition, so k units are k times this."""
    accountant = _rdp_accountant(orders)
    accountant.compose(_step_event(sigma, q, sampling))
    return np.asarray(accountant.orders, dtype=float), np.asarray(accountant.rdp, dtype=float)


def _rdp_epsilon(orders, rdp, delta: float) -> float:
    from dp_accounting.rdp import compute_epsilon

    return float(compute_epsilon(orders, rdp, delta)[0])


# ---------------------------------------------------------------------------------------------- DP-SGD


def _steps_checked(noise_multiplier, sample_rate, delta, accountant, sampling, steps):
    """(σ, q, δ, accounted units, ε or None): the ε is already known for zero steps (0) and for no noise (∞)."""
    sigma, q, delta = _check_common(noise_multiplier, sample_rate, delta, accountant, sampling)
    steps = _check_int("privacy.steps", steps, low=0, allowed="an integer >= 0")
    units = _units(steps, q, sampling)
    trivial = 0.0 if units == 0 else math.inf if sigma == 0.0 else None
    return sigma, q, delta, units, trivial


def dp_sgd_epsilon(*, noise_multiplier: float, sample_rate: float, steps: int, delta: float,
                   accountant: str = "rdp", sampling: str = "poisson") -> float:
    """ε after `steps` DP-SGD steps (example-level, add-or-remove-one); see the module docstring for `sampling`.

    Returns math.inf when there is no noise and at least one step, 0.0 for zero steps.
    """
    sigma, q, delta, units, trivial = _steps_checked(noise_multiplier, sample_rate, delta, accountant, sampling, steps)
    if trivial is not None:
        return trivial
    if accountant == "rdp":
        orders, rdp = _unit_rdp(sigma, q, sampling)
        return _rdp_epsilon(orders, units * rdp, delta)
    import dp_accounting

    pld = _pld_accountant()
    pld.compose(dp_accounting.SelfComposedDpEvent(_step_event(sigma, q, sampling), units))
    return float(pld.get_epsilon(delta))


def epsilon_per_round(*, noise_multiplier: float, sample_rate: float, steps_per_round: int, rounds: int,
                      delta: float, accountant: str = "rdp", sampling: str = "poisson") -> list[float]:
    """ε after each of `rounds` rounds of `steps_per_round` steps, for per-round reports.

    RDP: the one-unit RDP curve is computed once and scaled, so the cost barely depends on `rounds`, and the
    last value is exactly `dp_sgd_epsilon` for the total steps. PLD: one accountant composed round by round;
    its last value matches the one-shot figure up to PLD discretization (well under 1%).
    """
    sigma, q, delta = _check_common(noise_multiplier, sample_rate, delta, accountant, sampling)
    steps_per_round = _check_int("privacy.steps_per_round", steps_per_round, low=0, allowed="an integer >= 0")
    rounds = _check_int("training.rounds", rounds, low=0, allowed="an integer >= 0")
    units = [_units(r * steps_per_round, q, sampling) for r in range(1, rounds + 1)]
    if sigma == 0.0:
        return [math.inf if u else 0.0 for u in units]
    if accountant == "rdp":
        orders, rdp = _unit_rdp(sigma, q, sampling)
        return [_rdp_epsilon(orders, u * rdp, delta) if u else 0.0 for u in units]
    from dp_accounting.pld import privacy_loss_distribution

    # Built from the PLD objects rather than a PLDAccountant: the accountant would rebuild the one-step PLD
    # (the slow part) on every compose.
    unit = privacy_loss_distribution.from_gaussian_mechanism(
        sigma, sampling_prob=q if sampling == "poisson" else 1.0,
        value_discretization_interval=PLD_DISCRETIZATION)
    total, done, chunks, out = None, 0, {}, []
    for u in units:
        if u > done:
            if u - done not in chunks:
                chunks[u - done] = unit.self_compose(u - done)
            total = chunks[u - done] if total is None else total.compose(chunks[u - done])
            done = u
        out.append(float(total.get_epsilon_for_delta(delta)) if total is not None else 0.0)
    return out


def noise_multiplier_for_epsilon(*, target_epsilon: float, sample_rate: float, steps: int, delta: float,
                                 accountant: str = "rdp", sampling: str = "poisson", tol: float = 1e-3) -> float:
    """The smallest noise multiplier (to within `tol`) whose ε is at most `target_epsilon`.

    Bisection, returning the upper end of the final bracket so the promise ε <= target always holds.
    """
    target = _check_number("privacy.target_epsilon", target_epsilon, low=0.0, low_open=True,
                           allowed="a number > 0")
    tol = _check_number("privacy.tol", tol, low=0.0, low_open=True, allowed="a number > 0")

    def epsilon(sigma: float) -> float:
        return dp_sgd_epsilon(noise_multiplier=sigma, sample_rate=sample_rate, steps=steps, delta=delta,
                              accountant=accountant, sampling=sampling)

    if epsilon(0.0) <= target:  # zero steps: any noise will do (also validates the other arguments)
        return 0.0
    if accountant == "pld":
        # A PLD evaluation costs ~1 s and far more at small noise; RDP's answer (cheap, and never tighter than
        # PLD's) is a close upper end, so the bracket stays where PLD is fast.
        start = noise_multiplier_for_epsilon(target_epsilon=target, sample_rate=sample_rate, steps=steps,
                                             delta=delta, accountant="rdp", sampling=sampling, tol=tol)
        low, high = _bracket(epsilon, target, start=start, factor=1.25, tol=tol)
    else:
        low, high = _bracket(epsilon, target, start=1.0, factor=2.0, tol=tol)
    while high - low > tol:
        mid = (low + high) / 2
        if epsilon(mid) > target:
            low = mid
        else:
            high = mid
    return high


def _bracket(epsilon, target: float, *, start: float, factor: float, tol: float) -> tuple[float, float]:
    """(low, high) with ε(low) > target >= ε(high), found by stepping from `start` by `factor`."""
    low, high = start, start
    if epsilon(start) > target:
        while True:
            low, high = high, high * factor
            if high > MAX_NOISE_MULTIPLIER:
                raise UserError(
                    f"privacy.target_epsilon: {target!r} is not reachable with a noise multiplier up to "
                    f"{MAX_NOISE_MULTIPLIER:g} for these steps, sample rate and delta; allow a larger epsilon"
                )
            if epsilon(high) <= target:
                return low, high
    low = high / factor
    while low > tol and epsilon(low) <= target:
        high, low = low, low / factor
    return (0.0 if low <= tol else low), high


def classic_rdp_epsilon(*, noise_multiplier: float, sample_rate: float, steps: int, delta: float,
                        sampling: str = "poisson", orders=CLASSIC_ORDERS) -> float:
    """ε by the classic conversion min over α of RDP(α) + log(1/δ)/(α−1) (Mironov 2017).

    Kept to compare with figures quoted from tensorflow-privacy's tutorials; it is looser than
    `dp_sgd_epsilon`'s RDP conversion (dp-accounting uses the tighter one of Canonne, Kamath and Steinke).
    """
    sigma, q, delta, units, trivial = _steps_checked(noise_multiplier, sample_rate, delta, "rdp", sampling, steps)
    if trivial is not None:
        return trivial
    orders = [a for a in orders if a > 1]
    if not orders:
        raise ConfigError("privacy.orders", orders, "at least one RDP order > 1")
    alphas, rdp = _unit_rdp(sigma, q, sampling, orders)
    return float(np.min(units * rdp + math.log(1 / delta) / (alphas - 1)))


# ---------------------------------------------------------------------------------------------- DP-FedAvg


def dp_fedavg_epsilon(*, noise_multiplier: float, clients_per_round: int, num_clients: int, rounds: int,
                      delta: float, accountant: str = "rdp", sampling: str = "poisson") -> float:
    """Client-level ε of DP-FedAvg: one round is one step with sample rate clients_per_round / num_clients.

    `noise_multiplier` is the noise std over the per-client update clipping norm. clients_per_round = 0
    means every client every round (the config's convention), i.e. q = 1 and no sampling at all, where
    both `sampling` values give the same, exact figure.
    """
    num_clients = _check_int("data.clients", num_clients, low=1, allowed="an integer >= 1")
    clients_per_round = _check_int("training.clients_per_round", clients_per_round, low=0,
                                   allowed=f"an integer in [0, {num_clients}] (0 = all clients)")
    if clients_per_round > num_clients:
        raise ConfigError("training.clients_per_round", clients_per_round,
                          f"an integer in [0, {num_clients}] (0 = all clients)")
    rounds = _check_int("training.rounds", rounds, low=0, allowed="an integer >= 0")
    q = 1.0 if clients_per_round in (0, num_clients) else clients_per_round / num_clients
    return dp_sgd_epsilon(noise_multiplier=noise_multiplier, sample_rate=q, steps=rounds, delta=delta,
                          accountant=accountant, sampling=sampling)

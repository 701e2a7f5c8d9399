"""The one-run audit's bound (Steinke, Nasr, Jagielski 2023), on synthetic guesses.

The paper's Appendix D prints 0.673 for m = 1000 canaries, 100 guesses, 75 right, δ = 1e-4, 95%. For
ε-DP randomized response (each guess right with probability e^ε/(1+e^ε)) the bound is valid: over 200
seeded trials at ε = 1 it exceeds 1 in at most 5% (allowed: 8%, the 95% binomial upper level for 200 trials
at 5%), and it comes near ε when every canary is guessed (0.8 < bound). Deliberate errors these catch
(each tried): beta = P[Bin >= v + 1] (sf(v) instead of sf(v - 1): the bound rises, coverage fails), the δ
term dropped (the published value moves to 0.70), and guessing the k lowest scores as included.
"""
import numpy as np
import pytest

from tffnoise.errors import UserError
from tffnoise.privacy.audit import audit, epsilon_lower_bound, guesses, p_value


def test_the_papers_printed_value():
    assert epsilon_lower_bound(1000, 100, 75, 1e-4, 0.95) == pytest.approx(0.673, abs=1e-3)


def test_p_value_edges():
    assert p_value(10, 10, 0, 1.0, 0.0) == 1.0
    # Every one of 10 guesses right, pure DP: q^10.
    q = 1 / (1 + np.exp(-1.0))
    assert p_value(10, 10, 10, 1.0, 0.0) == pytest.approx(q ** 10)
    assert p_value(10, 10, 10, 1.0, 1e-3) > p_value(10, 10, 10, 1.0, 0.0)
    with pytest.raises(UserError):
        p_value(10, 5, 6, 1.0, 0.0)


def test_guesses_hand_computed():
    scores = np.array([0.9, 0.1, 0.8, 0.3, 0.5, 0.2])
    included = np.array([1, 0, 0, 1, 1, 0], bool)
    # top 2 = canaries 0 (in), 2 (out); bottom 2 = 1 (out), 5 (out)
    assert guesses(scores, included, 2, 2) == (4, 3)
    assert guesses(scores, included, 1, 0) == (1, 1)
    assert guesses(scores, included, 0, 3) == (3, 2)


def _randomized_response(eps, m, rng):
    included = rng.random(m) < 0.5
    right = rng.random(m) < 1 / (1 + np.exp(-eps))
    guess = np.where(right, included, ~included)
    return guess.astype(float) + rng.random(m) * 0.5, included   # guessed-in canaries score higher


def test_bound_is_valid_for_randomized_response():
    rng = np.random.default_rng(0)
    over = sum(epsilon_lower_bound(1000, 1000, int(np.sum(rng.random(1000) < 1 / (1 + np.exp(-1.0)))), 0.0) > 1.0
               for _ in range(200))
    assert over <= 16


def test_audit_picks_the_best_guess_count_and_stays_below_epsilon():
    rng = np.random.default_rng(1)
    scores, included = _randomized_response(2.0, 1000, rng)
    res = audit(scores, included, delta=1e-5)
    assert 0.8 < res["audit_epsilon_lower"] < 2.0
    assert res["audit_canaries"] == 1000 and res["audit_guesses"] > 0
    # A perfect separation of 1000 canaries rules out a large ε; no signal rules out nothing much.
    perfect = audit(included.astype(float), included, delta=1e-5)["audit_epsilon_lower"]
    noise = audit(rng.random(1000), included, delta=1e-5)["audit_epsilon_lower"]
    assert perfect > 4 and noise < 0.5

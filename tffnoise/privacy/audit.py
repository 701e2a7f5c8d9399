"""The one-run DP audit's statistics: Steinke, Nasr, Jagielski, "Privacy Auditing with One (1) Training
Run" (NeurIPS 2023, arXiv 2305.08846), as pure functions of canary scores.

m canaries are each included in training by an independent fair coin. After training the auditor guesses
"included" for the k+ highest-scoring canaries and "excluded" for the k- lowest, abstaining on the rest;
r = k+ + k- guesses of which v are right. Under (ε, δ)-DP the number right is nearly dominated by
Binomial(r, e^ε / (1 + e^ε)) (the paper's Theorem 3.1 / Corollary 5.4); `p_value` is their Appendix D
`p_value_DP_audit` and `epsilon_lower_bound` their `get_eps_audit`: the largest ε rejected at the
confidence level, found by bisection and returning the conservative low end.
"""
from __future__ import annotations

import math

import numpy as np

from tffnoise.errors import UserError

CONFIDENCE = 0.95
# Guesses tried per side, as fractions of m; the bound takes the best of them at confidence 1 − p/len,
# a union bound over the choices, so picking the best k cannot inflate it.
GUESS_FRACTIONS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5)


def p_value(m: int, r: int, v: int, eps: float, delta: float) -> float:
    """P[at least v of r guesses right] under (eps, delta)-DP with m canaries (App. D)."""
    from scipy.stats import binom

    if not (0 <= v <= r <= m) or eps < 0 or not 0 <= delta <= 1:
        raise UserError(f"audit: need 0 <= v <= r <= m, eps >= 0, 0 <= delta <= 1; got m={m}, r={r}, v={v}, "
                        f"eps={eps}, delta={delta}")
    q = 1.0 / (1.0 + math.exp(-eps))   # the accuracy of eps-DP randomized response
    beta = float(binom.sf(v - 1, r, q))
    if delta == 0 or v == 0:
        return min(beta, 1.0)
    # alpha = max over i in 1..v of P[v > Binomial(r, q) >= v - i] / i
    i = np.arange(1, v + 1)
    alpha = float(np.max(np.cumsum(binom.pmf(v - i, r, q)) / i))
    return min(beta + alpha * delta * 2 * m, 1.0)


def epsilon_lower_bound(m: int, r: int, v: int, delta: float, confidence: float = CONFIDENCE) -> float:
    """The ε that v right out of r guesses rule out at this confidence (App. D's get_eps_audit)."""
    p = 1.0 - confidence
    if not 0 < p < 1:
        raise UserError(f"audit: confidence is {confidence!r}; need 0 < confidence < 1")
    lo, hi = 0.0, 1.0
    while p_value(m, r, v, hi, delta) < p:
        hi += 1
    for _ in range(30):
        mid = (lo + hi) / 2
        if p_value(m, r, v, mid, delta) < p:
            lo = mid
        else:
            hi = mid
    return lo


def guesses(scores, included, k_plus: int, k_minus: int) -> tuple[int, int]:
    """(r, v): guess the k_plus highest scores included and the k_minus lowest excluded."""
    scores, included = np.asarray(scores, float), np.asarray(included, bool)
    if k_plus + k_minus > len(scores):
        raise UserError(f"audit: {k_plus} + {k_minus} guesses for {len(scores)} canaries")
    order = np.argsort(scores, kind="stable")
    right = int(included[order[len(order) - k_plus:]].sum()) if k_plus else 0
    right += int((~included[order[:k_minus]]).sum())
    return k_plus + k_minus, right


def audit(scores, included, delta: float, confidence: float = CONFIDENCE) -> dict:
    """The best ε lower bound over k+ = k- = fraction·m for GUESS_FRACTIONS, each at confidence
    1 − (1 − confidence)/len(GUESS_FRACTIONS), with the guesses that gave it."""
    m = len(scores)
    level = 1.0 - (1.0 - confidence) / len(GUESS_FRACTIONS)
    best = {"audit_epsilon_lower": 0.0, "audit_guesses": 0, "audit_correct": 0}
    for f in GUESS_FRACTIONS:
        k = max(1, int(f * m))
        if 2 * k > m:
            continue
        r, v = guesses(scores, included, k, k)
        eps = epsilon_lower_bound(m, r, v, delta, level)
        if eps > best["audit_epsilon_lower"]:
            best = {"audit_epsilon_lower": eps, "audit_guesses": r, "audit_correct": v}
    return {**best, "audit_canaries": int(m), "audit_included": int(np.sum(included)),
            "audit_delta": float(delta), "audit_confidence": float(confidence)}

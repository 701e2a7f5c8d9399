"""ROC metrics for membership inference, read at the low false-positive rates that matter.

Carlini et al. ("Membership Inference Attacks From First Principles", S&P 2022) show that AUC hides what
an attack does at low FPR, where an attacker is confidently right about a few examples; so every attack
reports TPR at 1% FPR (and at 0.1% where enough non-members make it measurable) beside AUC, with
bootstrap intervals over examples. Convention everywhere: a higher score means "member".
"""
from __future__ import annotations

import math

import numpy as np

from tffnoise.errors import UserError

# A rate is reported only with enough non-members to place its threshold: at 1% one false positive needs
# 100 non-members; issue 22 asks for 10,000 at 0.1% (ten false positives), so a lucky threshold cannot
# make the rate.
FPR_TARGETS = {0.01: 100, 0.001: 10_000}
BOOTSTRAP = 200
BLOCK_SCORES = 2**21  # scores per block of bootstrap replicates (16 MiB of float64)
LEVEL = 0.95


def rate_name(fpr: float) -> str:
    """'tpr_at_1fpr', 'tpr_at_0p1fpr': result keys without dots."""
    return "tpr_at_" + f"{100 * fpr:g}".replace(".", "p") + "fpr"


def _scores(name: str, values) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or values.size == 0:
        raise UserError(f"{name}: expected a non-empty 1-D array of attack scores, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise UserError(f"{name}: has {int(np.sum(~np.isfinite(values)))} non-finite scores")
    return values


def roc_curve(member_scores, nonmember_scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds) for "member if score >= threshold", from (0, 0) at threshold +inf to (1, 1)."""
    m, n = _scores("member_scores", member_scores), _scores("nonmember_scores", nonmember_scores)
    thresholds = np.concatenate([[np.inf], np.unique(np.concatenate([m, n]))[::-1]])
    ms, ns = np.sort(m), np.sort(n)
    tpr = (len(ms) - np.searchsorted(ms, thresholds, side="left")) / len(ms)
    fpr = (len(ns) - np.searchsorted(ns, thresholds, side="left")) / len(ns)
    return fpr, tpr, thresholds


def auc(member_scores, nonmember_scores) -> float:
    """P(member score > non-member score) + ½ P(tie): the Mann-Whitney statistic."""
    from scipy.stats import rankdata

    m, n = _scores("member_scores", member_scores), _scores("nonmember_scores", nonmember_scores)
    ranks = rankdata(np.concatenate([m, n]))
    return float((ranks[:len(m)].sum() - len(m) * (len(m) + 1) / 2) / (len(m) * len(n)))


def tpr_at_fpr(member_scores, nonmember_scores, fpr: float) -> float:
    """The largest TPR of any threshold whose FPR is at most `fpr`.

    With k = floor(fpr·n) false positives allowed, the best threshold sits just above the (k+1)-th highest
    non-member score, so the TPR is the fraction of members strictly above it.
    """
    m, n = _scores("member_scores", member_scores), _scores("nonmember_scores", nonmember_scores)
    return _tpr_at(m, np.sort(n)[::-1], fpr)


def _tpr_at(m: np.ndarray, n_desc: np.ndarray, fpr: float) -> float:
    k = math.floor(fpr * len(n_desc) + 1e-9)
    if k >= len(n_desc):
        return 1.0
    return float(np.mean(m > n_desc[k]))


def _sorted(m: np.ndarray, n: np.ndarray) -> tuple:
    """What every block of replicates reads: the sorted scores, each score's sorted position, and each
    member's range of equal non-members (sorted once per `summarize`, not once per block)."""
    om, on = np.argsort(m, kind="stable"), np.argsort(n, kind="stable")
    ms, ns = m[om], n[on]
    rank_m, rank_n = np.empty(len(m), np.int64), np.empty(len(n), np.int64)
    rank_m[om], rank_n[on] = np.arange(len(m)), np.arange(len(n))
    return ms, ns, rank_m, rank_n, np.searchsorted(ns, ms, "left"), np.searchsorted(ns, ms, "right")


def _counts(rank: np.ndarray, draws: list) -> np.ndarray:
    """[B, len(rank)]: how often each replicate drew each sorted position, in one bincount (replicate b's
    positions offset by b·len(rank)); one bincount per replicate took a third of `summarize`."""
    L = len(rank)
    idx = rank[np.stack(draws)] + (L * np.arange(len(draws)))[:, None]
    return np.bincount(idx.ravel(), minlength=L * len(draws)).reshape(len(draws), L)


def _replicates(m: np.ndarray, n: np.ndarray, draws: list, targets: list, prep: tuple) -> dict:
    """`auc` and `_tpr_at` of each resample (member draw, non-member draw), from how often it draws each
    score: with the scores sorted once (`_sorted`), a resample's AUC is Σ_i c_i·(2·below_i + ties_i) /
    (2·|m|·|n|) (c_i: member i's count, below_i / ties_i: the resample's non-members under / equal to it),
    and its (k+1)-th highest non-member is where the non-members' counts, summed from the top, pass k.
    The sums are integers, so every value equals the replicate-by-replicate one exactly (tests/privacy)."""
    ms, ns, rank_m, rank_n, lo, hi = prep
    cm = _counts(rank_m, [i for i, _ in draws])      # [B, |m|]
    cn = _counts(rank_n, [j for _, j in draws])      # [B, |n|]
    below = np.concatenate([np.zeros((len(draws), 1), np.int64), np.cumsum(cn, axis=1)], axis=1)  # [B, |n|+1]
    twice = (cm * (below[:, lo] + below[:, hi])).sum(1)  # Σ c_i (2·below_i + ties_i)
    out = {"auc": [float(v) for v in twice / (2 * len(m) * len(n))]}
    above_m = np.concatenate([np.zeros((len(draws), 1), np.int64), np.cumsum(cm, axis=1)], axis=1)
    for f in targets:
        k = math.floor(f * len(n) + 1e-9)
        if k >= len(n):
            out[f] = [1.0] * len(draws)
            continue
        top = (below[:, :len(n)] < len(n) - k).sum(1) - 1   # the sorted position of the (k+1)-th highest
        thr = ns[top]
        strictly_above = len(m) - above_m[np.arange(len(draws)), np.searchsorted(ms, thr, "right")]
        out[f] = [float(v) for v in strictly_above / len(m)]
    return out


def _interval(values: np.ndarray) -> list[float]:
    lo, hi = np.quantile(values, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return [float(lo), float(hi)]


def summarize(member_scores, nonmember_scores, *, seed: int = 0, bootstrap: int = BOOTSTRAP) -> dict:
    """AUC and TPR at each measurable FPR target, each with a percentile bootstrap interval.

    Members and non-members are resampled separately (seeded), so each replicate keeps both counts. A TPR
    below 1/n_members (no member above the threshold) is reported as that floor with
    `..._below_resolution = True`: the attack may be that weak, but this many examples cannot tell.
    A target that has too few non-members (FPR_TARGETS) is left out, not reported as a number.
    """
    m, n = _scores("member_scores", member_scores), _scores("nonmember_scores", nonmember_scores)
    targets = [f for f, need in FPR_TARGETS.items() if len(n) >= need]
    rng = np.random.default_rng(seed)
    # The draws as one replicate after another (members, then non-members); each replicate is then its
    # counts over the sorted scores, so AUC and TPR need no sort per replicate (_replicates).
    draws = [(rng.integers(0, len(m), len(m)), rng.integers(0, len(n), len(n))) for _ in range(bootstrap)]
    boot = {"auc": [], **{f: [] for f in targets}}
    block = max(1, BLOCK_SCORES // (len(m) + len(n)))
    prep = _sorted(m, n)
    for b0 in range(0, bootstrap, block):
        for key, values in _replicates(m, n, draws[b0:b0 + block], targets, prep).items():
            boot[key].extend(values)
    floor = 1.0 / len(m)
    out = {"auc": auc(m, n), "auc_ci": _interval(np.array(boot["auc"])),
           "n_members": int(len(m)), "n_nonmembers": int(len(n)), "tpr_floor": floor}
    n_desc = np.sort(n)[::-1]
    for f in targets:
        key, tpr = rate_name(f), _tpr_at(m, n_desc, f)
        out[key] = max(tpr, floor)
        out[key + "_below_resolution"] = bool(tpr < floor)
        out[key + "_ci"] = [max(v, floor) for v in _interval(np.array(boot[f]))]
    return out


def flat_summary(attack: str, summary: dict) -> dict:
    """`summarize`'s metrics as a run's result keys, `mia_<attack>_<metric>` (the counts left out)."""
    return {f"mia_{attack}_{k}": v for k, v in summary.items() if k not in ("n_members", "n_nonmembers", "tpr_floor")}

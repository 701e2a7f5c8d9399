"""The privacy–utility points of a report: one per setting (means over its done repeats) on its *family's*
level curve, and the accuracy comparison at equal leakage that issue 22 item 6 asks for.

A family is what one curve sweeps: a noise mechanism's line (its level σ is the x value of the grouping),
or a DP mode without a noise mechanism (its level is the noise multiplier z, so DP-SGD at z = 0.5, 1, 2 is
one curve). DP settings that also run a noise mechanism are that mechanism's line inside the DP setup.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tffnoise.records import runs as _rec
from tffnoise.records.groups import GroupKey, Grouping

CLEAN, MECHANISM, DP = "clean", "mechanism", "dp"


@dataclass(frozen=True)
class Point:
    family: str          # the curve's label ("weights/gaussian", "dp-sgd", "clean")
    kind: str            # CLEAN, MECHANISM or DP
    level: float         # σ of a mechanism, z of a DP family, 0 for clean
    key: GroupKey
    n: int               # done repeats
    acc: float           # mean final test accuracy
    acc_sd: float
    tpr: float           # mean TPR at 1% FPR of the attack (nan where it did not run)
    tpr_sd: float
    below: int           # repeats whose TPR is the 1/n floor (below resolution)
    eps: float           # mean ε (nan where not accounted)


def _family(key: GroupKey, rec: dict) -> tuple[str, str, float]:
    priv = (rec.get("config") or {}).get("privacy") or {}
    mode, z_cfg = str(priv.get("mode") or "none"), float(priv.get("noise_multiplier") or 0.0)
    if mode == "none":
        return (CLEAN, CLEAN, 0.0) if key.is_clean else (MECHANISM, f"{key.setup} · {key.line()}", key.level)
    z = _rec.final_metric(rec, "noise_multiplier")   # the one it trained with (privacy.target_epsilon picks it)
    z = z if math.isfinite(z) else z_cfg
    setup = key.setup.replace(f"{mode} z={z_cfg:g}", mode, 1)   # the curve runs along z: z leaves its label
    return (DP, setup, z) if key.is_clean else (DP, f"{key.setup} · {key.line()}", key.level)


def _shorten(labels: list[str]) -> dict[str, str]:
    """Labels without the words every one of them starts with ("periodic-averaging m=5 · ...")."""
    words = [lb.split(" ") for lb in labels]
    common = 0
    while len(labels) > 1 and all(len(w) > common + 1 for w in words) and len({w[common] for w in words}) == 1:
        common += 1
    out = {}
    for lb, w in zip(labels, words):
        short = " ".join(w[common:]).removeprefix("· ")
        out[lb] = short or lb
    return out


def _mean_sd(vals: list[float]) -> tuple[float, float]:
    return (float(np.mean(vals)), float(np.std(vals))) if vals else (math.nan, math.nan)


def privacy_points(grouping: Grouping, attack: str) -> list[Point]:
    """One point per setting with a finished run, in report order; `tpr` is ``attack``'s TPR at 1% FPR."""
    raw = []
    for key, runs in grouping.groups.items():
        kind, family, level = _family(key, runs[0])
        acc, acc_sd = _mean_sd(_rec.metric_values(runs, "test_accuracy"))
        tpr, tpr_sd = _mean_sd(_rec.metric_values(runs, _rec.attack_key(attack)))
        eps = _rec.metric_values(runs, "epsilon")
        below = sum(_rec.below_resolution(r, attack) for r in runs)
        raw.append((kind, family, level, key, len(runs), acc, acc_sd, tpr, tpr_sd, below,
                    float(np.mean(eps)) if eps else math.nan))
    short = _shorten(list(dict.fromkeys(r[1] for r in raw if r[0] != CLEAN)))
    return [Point(short.get(r[1], r[1]), *r[:1], *r[2:]) for r in raw]


def curves(points: list[Point]) -> dict[str, list[Point]]:
    """Each family's points with a finite TPR and accuracy, sorted by level (its level curve)."""
    out: dict[str, list[Point]] = {}
    for p in points:
        if math.isfinite(p.tpr) and math.isfinite(p.acc):
            out.setdefault(p.family, []).append(p)
    return {f: sorted(ps, key=lambda p: p.level) for f, ps in out.items()}


def accuracy_at_tpr(curve: list[tuple[float, float]], tpr: float) -> float:
    """The accuracy of a level curve, given as (TPR, accuracy) in level order, at TPR ``tpr``: linear in TPR
    between the two consecutive levels whose TPRs bracket it. A curve that is not monotone in TPR can
    bracket it more than once: the best accuracy is taken (what the family can reach at that leakage).
    NaN outside the curve's TPR range (no extrapolation)."""
    best = math.nan
    pts = [(float(t), float(a)) for t, a in curve]
    if len(pts) == 1 and pts[0][0] == tpr:
        return pts[0][1]
    for (t0, a0), (t1, a1) in zip(pts, pts[1:]):
        if not min(t0, t1) <= tpr <= max(t0, t1):
            continue
        a = max(a0, a1) if t0 == t1 else a0 + (tpr - t0) / (t1 - t0) * (a1 - a0)
        best = a if math.isnan(best) else max(best, a)
    return best


def equal_leakage(points: list[Point]) -> list[dict]:
    """For every mechanism setting (and the clean one) with a TPR: each DP family's accuracy at the same TPR (`accuracy_at_tpr`
    along that family's level curve) and the difference, mechanism − DP (positive: the mechanism is more
    accurate at equal measured leakage)."""
    by_family = curves(points)
    dp = {f: [(p.tpr, p.acc) for p in ps] for f, ps in by_family.items() if ps[0].kind == DP}
    rows = []
    for fam, ps in by_family.items():
        if ps[0].kind == DP:
            continue
        for p in ps:
            for dfam, curve in dp.items():
                other = accuracy_at_tpr(curve, p.tpr)
                rows.append({"family": fam, "level": p.level, "tpr": p.tpr, "acc": p.acc, "dp": dfam,
                             "dp_levels": [q.level for q in by_family[dfam]], "dp_acc": other,
                             "diff": p.acc - other if math.isfinite(other) else math.nan})
    return rows

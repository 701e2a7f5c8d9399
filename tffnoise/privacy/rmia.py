"""RMIA, Zarifzadeh et al., "Low-Cost High-Power Membership Inference Attacks" (ICML 2024,
arXiv 2312.03262), as a pure function of probabilities.

The pairwise likelihood ratio of x against a population sample z is
    LR(x, z) = [Pr(x|θ) / Pr(x)] / [Pr(z|θ) / Pr(z)],
with Pr(·|θ) the target model's probability of the true label and Pr(·) its average over reference
models; the score of x is the fraction of population samples z with LR(x, z) > γ. Offline (no reference
model trained on x), Pr(x) is extrapolated from the out models:
    Pr(x) = ½ ((1 + a) · Pr_OUT(x) + (1 − a)),
from Pr(x) = ½ (Pr_IN(x) + Pr_OUT(x)) with Pr_IN(x) ≈ a · Pr_OUT(x) + (1 − a) (the paper's offline
approximation; a is fitted per dataset, and a = 1 takes Pr(x) = Pr_OUT(x)).
"""
from __future__ import annotations

import numpy as np

from tffnoise.errors import UserError

DEFAULT_A = 0.3
DEFAULT_GAMMA = 1.0
MIN_PROB = 1e-12


def population_probability(ref_p, in_mask=None, *, offline: bool = False, a: float = DEFAULT_A) -> np.ndarray:
    """Pr(x) from reference models: online ½ (Pr_IN(x) + Pr_OUT(x)), the means over its in and its out
    models (the plain mean where, as in Carlini et al.'s balanced design, an example is in half of them;
    no-sync's N·M learner models hold each example in N/2 of them only), the plain mean for an example
    without an in model; offline the a-extrapolation of the mean over the out models only. No in_mask:
    all models are out."""
    ref_p = np.asarray(ref_p, float)
    if ref_p.ndim != 2:
        raise UserError(f"rmia: reference probabilities need shape (models, examples), got {ref_p.shape}")
    out = np.ones_like(ref_p, bool) if in_mask is None else ~np.asarray(in_mask, bool)
    if not offline:
        n_in, n_out = (~out).sum(axis=0), out.sum(axis=0)
        mean_in = np.where(~out, ref_p, 0.0).sum(axis=0) / np.maximum(n_in, 1)
        mean_out = np.where(out, ref_p, 0.0).sum(axis=0) / np.maximum(n_out, 1)
        both = (n_in > 0) & (n_out > 0)
        return np.clip(np.where(both, 0.5 * (mean_in + mean_out), ref_p.mean(axis=0)), MIN_PROB, None)
    if not 0.0 <= a <= 1.0:
        raise UserError(f"rmia: a is {a!r}; need 0 <= a <= 1")
    count = out.sum(axis=0)
    if count.min() < 1:
        raise UserError("rmia: an example has no 'out' reference model; offline RMIA needs at least one")
    p_out = np.where(out, ref_p, 0.0).sum(axis=0) / count
    return np.clip(0.5 * ((1 + a) * p_out + (1 - a)), MIN_PROB, None)


def rmia(target_px, ref_px, in_x, target_pz, ref_pz, in_z=None, *, offline: bool = False,
         a: float = DEFAULT_A, gamma: float = DEFAULT_GAMMA, tiebreak: bool = False) -> np.ndarray:
    """Score per attacked example x: the fraction of population samples z with LR(x)/LR(z) > gamma.

    target_px (n,), ref_px and in_x (models, n); target_pz (nz,), ref_pz and in_z (models, nz). The z
    must be examples the target did not train on and that are not attacked themselves.

    The fraction is a step function of LR(x) with len(z) + 1 levels, so with few z many examples tie at
    1.0 and no threshold separates them at low FPR. `tiebreak` adds LR(x)'s rank scaled below one step,
    which orders the ties as a larger population would and leaves every other comparison unchanged.
    """
    px, pz = np.asarray(target_px, float), np.asarray(target_pz, float)
    if np.shape(ref_px) != (np.shape(ref_px)[0], px.size) or np.shape(ref_pz)[1:] != (pz.size,):
        raise UserError(f"rmia: shapes do not match: target_px {px.shape}, ref_px {np.shape(ref_px)}, "
                        f"target_pz {pz.shape}, ref_pz {np.shape(ref_pz)}")
    if not all(np.all(np.isfinite(v)) for v in (px, pz, ref_px, ref_pz)):
        raise UserError("rmia: non-finite probabilities (a diverged model?)")
    if pz.size == 0:
        raise UserError("rmia: needs at least one population sample z")
    if gamma <= 0:
        raise UserError(f"rmia: gamma is {gamma!r}; need gamma > 0")
    lr_x = np.clip(px, MIN_PROB, None) / population_probability(ref_px, in_x, offline=offline, a=a)
    lr_z = np.sort(np.clip(pz, MIN_PROB, None) / population_probability(ref_pz, in_z, offline=offline, a=a))
    # LR(x)/LR(z) > gamma  <=>  LR(z) < LR(x)/gamma: count the z strictly below.
    score = np.searchsorted(lr_z, lr_x / gamma, side="left") / lr_z.size
    if tiebreak:
        from scipy.stats import rankdata

        score = score + rankdata(lr_x) / (len(lr_x) + 1) / (2 * lr_z.size)
    return score

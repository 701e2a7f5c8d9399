"""LiRA, the likelihood-ratio attack of Carlini et al., "Membership Inference Attacks From First
Principles" (IEEE S&P 2022, arXiv 2112.03570), as pure functions of score arrays.

For each example, the target model's logit-scaled confidence phi is compared with Gaussians fitted to the
same example's phi under reference models that trained on it ("in") and that did not ("out"). Online:
the log ratio of the two densities. Offline: only the out fit, one-sided ("is phi larger than an out
model would give?"), so no reference model needs to have trained on the attacked examples.

Shapes: target_phi (n,), ref_phi (models, n), in_mask (models, n), True where that reference model
trained on that example.
"""
from __future__ import annotations

import numpy as np

from tffnoise.errors import UserError

# Below this many models on a side, the per-example variance is too noisy: Carlini et al. estimate one
# global variance when shadow models are few (under 64). Measured on digits (docs/privacy.md): with 16
# out models a side, per-example variances cut offline LiRA's TPR@1%FPR from 0.075 to 0.047.
GLOBAL_VARIANCE_BELOW = 64
MIN_STD = 1e-6


def _inputs(target_phi, ref_phi, in_mask):
    t, r, m = np.asarray(target_phi, float), np.asarray(ref_phi, float), np.asarray(in_mask, bool)
    if t.ndim != 1 or r.ndim != 2 or r.shape != m.shape or r.shape[1] != t.shape[0]:
        raise UserError(f"lira: need target_phi (n,), ref_phi and in_mask (models, n); got {t.shape}, "
                        f"{r.shape}, {m.shape}")
    return t, r, m


def _fit(ref_phi: np.ndarray, mask: np.ndarray, global_variance: bool, side: str):
    """Per-example mean and std of ref_phi where mask holds; the std per example or pooled."""
    count = mask.sum(axis=0)
    need = 1 if global_variance else 2
    if count.min() < need:
        raise UserError(f"lira: an example has {int(count.min())} '{side}' reference models; need at least "
                        f"{need} (more privacy.reference_models, or the global variance)")
    mean = np.where(mask, ref_phi, 0.0).sum(axis=0) / count
    sq = np.where(mask, (ref_phi - mean) ** 2, 0.0)
    if global_variance:
        # Pooled within-example variance: the spread of a model's phi around its example's mean.
        dof = int(count.sum() - count.size)
        if dof < 1:
            raise UserError(f"lira: the '{side}' fits have no degrees of freedom left for a variance")
        std = np.full(count.shape, np.sqrt(sq.sum() / dof))
    else:
        std = np.sqrt(sq.sum(axis=0) / (count - 1))
    return mean, np.maximum(std, MIN_STD)


def _global(global_variance, mask: np.ndarray) -> bool:
    if global_variance is None:
        return int(mask.sum(axis=0).min()) < GLOBAL_VARIANCE_BELOW
    return bool(global_variance)


def _log_normal_pdf(x, mu, s):
    return -0.5 * ((x - mu) / s) ** 2 - np.log(s)  # without the constant, which cancels in every ratio


def lira_online(target_phi, ref_phi, in_mask, *, global_variance: bool | None = None) -> np.ndarray:
    """log N(phi; mu_in, s_in²) − log N(phi; mu_out, s_out²) per example (higher = member)."""
    t, r, m = _inputs(target_phi, ref_phi, in_mask)
    g = _global(global_variance, m) or _global(global_variance, ~m)
    mu_in, s_in = _fit(r, m, g, "in")
    mu_out, s_out = _fit(r, ~m, g, "out")
    return _log_normal_pdf(t, mu_in, s_in) - _log_normal_pdf(t, mu_out, s_out)


def lira_offline(target_phi, ref_phi, in_mask, *, global_variance: bool | None = None) -> np.ndarray:
    """−log P(Z > phi), Z ~ N(mu_out, s_out²): the one-sided test, monotone in the paper's
    Λ = 1 − Pr[Z > phi] but not rounded to 1 for large phi. Reads only the out models."""
    from scipy.special import log_ndtr

    t, r, m = _inputs(target_phi, ref_phi, in_mask)
    mu_out, s_out = _fit(r, ~m, _global(global_variance, ~m), "out")
    return -log_ndtr(-(t - mu_out) / s_out)

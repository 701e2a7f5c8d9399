"""Membership-inference attacks: how well can someone tell the training examples from unseen ones?

Two attacks, both scored with ROC AUC and attacker advantage (max over thresholds of TPR − FPR):

* loss threshold (Yeom et al., CSF 2018): guess "member" when the loss is low. No training, no tuning.
* trained: a classifier on per-example features (loss, confidence, max probability, entropy, correctness),
  scored out-of-fold with stratified K-fold on a class-balanced sample, so its AUC is not inflated by
  testing on what it was fit to, nor by a class imbalance.

Implemented here with numpy and scikit-learn: tensorflow-privacy 0.9.0's membership-inference module imports
a package its wheel does not ship, so it cannot be used.
"""
from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass

import numpy as np

from tffnoise.errors import ConfigError, UserError

# Probabilities are clipped to this before taking logs, so a confident wrong answer costs ≈ 27.6, not inf.
MIN_PROB = 1e-12

FEATURE_NAMES = ("loss", "true_label_confidence", "max_probability", "entropy", "correct")
ATTACK_MODELS = ("logistic", "boosting")


@dataclass
class AttackResult:
    name: str
    auc: float
    advantage: float
    n_members: int
    n_nonmembers: int

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------------------------- inputs


def _as_losses(name: str, losses) -> np.ndarray:
    losses = np.asarray(losses, dtype=float)
    if losses.ndim != 1:
        raise UserError(f"{name}: expected a 1-D array of per-example losses, got shape {losses.shape}")
    if losses.size == 0:
        raise UserError(f"{name}: is empty; need at least one example")
    if not np.all(np.isfinite(losses)):
        raise UserError(f"{name}: has {int(np.sum(~np.isfinite(losses)))} non-finite values; need finite losses")
    return losses


def _as_features(name: str, features) -> np.ndarray:
    features = np.asarray(features, dtype=float)
    if features.ndim == 1:
        features = features[:, None]
    if features.ndim != 2:
        raise UserError(f"{name}: expected a 2-D array (examples, features), got shape {features.shape}")
    if features.shape[0] == 0:
        raise UserError(f"{name}: is empty; need at least one example")
    if not np.all(np.isfinite(features)):
        raise UserError(f"{name}: has non-finite values; need finite features")
    return features


def per_example_features(probs=None, labels=None, *, losses=None) -> np.ndarray:
    """Per-example attack features, one row per example, columns as in FEATURE_NAMES.

    Classification: pass `probs` (examples, classes) and integer `labels`. Regression (or any model whose
    loss you already have): pass `losses` only, and get a single loss column.
    """
    if losses is not None:
        if probs is not None or labels is not None:
            raise UserError("per_example_features: pass either probs and labels, or losses, not both")
        return _as_losses("losses", losses)[:, None]
    if probs is None or labels is None:
        raise UserError("per_example_features: pass probs and labels (classification) or losses (regression)")
    return _classification_features(probs, labels, "probs", "labels")


def _classification_features(probs, labels, probs_name: str, labels_name: str) -> np.ndarray:
    probs = np.asarray(probs, dtype=float)
    labels = np.asarray(labels)
    if probs.ndim != 2 or probs.shape[1] < 2:
        raise UserError(f"{probs_name}: expected shape (examples, classes >= 2), got {probs.shape}")
    if probs.shape[0] == 0:
        raise UserError(f"{probs_name}: is empty; need at least one example")
    if labels.ndim != 1 or labels.shape[0] != probs.shape[0]:
        raise UserError(f"{labels_name}: expected shape ({probs.shape[0]},) to match probs, got {labels.shape}")
    if labels.dtype.kind not in "biu":
        if labels.dtype.kind != "f" or not np.all(np.mod(labels, 1) == 0):
            raise UserError(f"{labels_name}: expected integer class indices")
        labels = labels.astype(int)
    if labels.min() < 0 or labels.max() >= probs.shape[1]:
        raise UserError(f"{labels_name}: values must be class indices in [0, {probs.shape[1] - 1}], "
                        f"got range [{labels.min()}, {labels.max()}]")
    if not np.all(np.isfinite(probs)):
        raise UserError(f"{probs_name}: has non-finite values; need probabilities")
    clipped = np.clip(probs, MIN_PROB, 1.0)
    true_p = clipped[np.arange(len(labels)), labels]
    return np.column_stack([
        -np.log(true_p),
        true_p,
        probs.max(axis=1),
        -np.sum(clipped * np.log(clipped), axis=1),
        (probs.argmax(axis=1) == labels).astype(float),
    ])


# ---------------------------------------------------------------------------------------------- scoring


def _score(name: str, member_scores, nonmember_scores) -> AttackResult:
    """AUC and advantage of "higher score = member", from the one ROC of the project (privacy/roc.py)."""
    from tffnoise.privacy import roc

    fpr, tpr, _ = roc.roc_curve(member_scores, nonmember_scores)
    return AttackResult(name=name, auc=roc.auc(member_scores, nonmember_scores), advantage=float(np.max(tpr - fpr)),
                        n_members=len(member_scores), n_nonmembers=len(nonmember_scores))


def loss_threshold_attack(member_losses, nonmember_losses) -> AttackResult:
    """Yeom et al.'s attack: a low loss means a member (score = −loss)."""
    members = _as_losses("member_losses", member_losses)
    nonmembers = _as_losses("nonmember_losses", nonmember_losses)
    return _score("loss_threshold", -members, -nonmembers)


def _attack_model(model: str, seed: int):
    if model == "logistic":  # scikit-learn's standardized L2 logistic regression, fitted to its optimum
        from tffnoise.privacy.logistic import StandardLogistic

        return StandardLogistic()
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=100, max_leaf_nodes=15, random_state=seed)


def trained_attack(member_features, nonmember_features, *, seed: int = 0, folds: int = 5,
                   model: str = "logistic") -> AttackResult:
    """A classifier on the features, each example scored by a model that never saw it (out-of-fold).

    The larger set is subsampled (seeded) to the size of the smaller, so n_members == n_nonmembers in the
    result and a constant guess cannot look good.
    """
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    members = _as_features("member_features", member_features)
    nonmembers = _as_features("nonmember_features", nonmember_features)
    if members.shape[1] != nonmembers.shape[1]:
        raise UserError(f"nonmember_features: has {nonmembers.shape[1]} features, "
                        f"member_features has {members.shape[1]}; they must match")
    if model not in ATTACK_MODELS:
        raise ConfigError("model", model, "one of " + ", ".join(repr(m) for m in ATTACK_MODELS))
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise ConfigError("folds", folds, "an integer >= 2")
    rng = np.random.default_rng(seed)
    n = min(len(members), len(nonmembers))
    if n < folds:
        raise UserError(f"trained_attack: {n} examples in the smaller set, need at least folds={folds}")
    members = members[rng.choice(len(members), n, replace=False)]
    nonmembers = nonmembers[rng.choice(len(nonmembers), n, replace=False)]
    x = np.concatenate([members, nonmembers])
    y = np.concatenate([np.ones(n), np.zeros(n)])
    scores = np.empty(2 * n)
    # Boosting in one thread: the attack sets are small, and OpenMP threads fighting over shared cores made
    # a 0.3 s fit take 9 s. (Entering the limit costs 4 ms; the logistic fit's NumPy products are small.)
    with threadpool_limits(limits=1) if model == "boosting" else contextlib.nullcontext():
        for train, test in StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(x, y):
            fitted = _attack_model(model, seed).fit(x[train], y[train])
            scores[test] = fitted.predict_proba(x[test])[:, 1]
    return _score(f"trained_{model}", scores[:n], scores[n:])


def run_attacks(member_probs=None, member_labels=None, nonmember_probs=None, nonmember_labels=None, *,
                member_losses=None, nonmember_losses=None, member_features=None, nonmember_features=None,
                seed: int = 0) -> list[AttackResult]:
    """The standard set: loss threshold, then trained logistic-regression attack on the features.

    Classification: pass the four arrays, or `member_features` and `nonmember_features` from
    `per_example_features` when the caller needs them too (the runner reads the loss column for its ROC
    metrics), so they are computed once. Regression: pass `member_losses` and `nonmember_losses` instead
    (the trained attack then sees the loss alone).
    """
    given = [name for name, v in (("probs/labels", member_probs if member_probs is not None else nonmember_probs),
                                  ("losses", member_losses if member_losses is not None else nonmember_losses),
                                  ("features", member_features if member_features is not None else nonmember_features))
             if v is not None]
    if len(given) > 1:
        raise UserError(f"run_attacks: pass one of member/nonmember probs and labels, losses or features, not {' and '.join(given)}")
    if member_features is not None or nonmember_features is not None:
        members = _as_features("member_features", [] if member_features is None else member_features)
        nonmembers = _as_features("nonmember_features", [] if nonmember_features is None else nonmember_features)
    elif member_losses is not None or nonmember_losses is not None:
        members = _as_losses("member_losses", [] if member_losses is None else member_losses)[:, None]
        nonmembers = _as_losses("nonmember_losses", [] if nonmember_losses is None else nonmember_losses)[:, None]
    else:
        if member_probs is None or nonmember_probs is None:
            raise UserError("run_attacks: pass member/nonmember probs and labels, or member/nonmember losses")
        members = _classification_features(member_probs, member_labels, "member_probs", "member_labels")
        nonmembers = _classification_features(nonmember_probs, nonmember_labels, "nonmember_probs",
                                              "nonmember_labels")
        if np.shape(member_probs)[1] != np.shape(nonmember_probs)[1]:
            raise UserError(f"nonmember_probs: has shape {np.shape(nonmember_probs)}, member_probs has "
                            f"{np.shape(member_probs)}; the class counts must match")
    return [
        loss_threshold_attack(members[:, 0], nonmembers[:, 0]),
        trained_attack(members, nonmembers, seed=seed),
    ]

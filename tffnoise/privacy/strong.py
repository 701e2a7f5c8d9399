"""LiRA and RMIA on a finished cell: train the reference models, score every repeat's attacked examples.

Threat model (docs/privacy.md): the adversary sees the final evaluated model's output probabilities (the
averaged model; for no-sync the picked learner), knows the training recipe, and holds a population
sample from the same distribution, on which it trains its reference models. The loss attack is scored on
the same attacked examples, so the three are compared on identical data.
"""
from __future__ import annotations

import numpy as np

from tffnoise.errors import UserError
from tffnoise.privacy.lira import lira_offline, lira_online
from tffnoise.privacy.reference import REFERENCE_REPEAT_BASE, population, train_references
from tffnoise.privacy.rmia import DEFAULT_A, rmia
from tffnoise.privacy.roc import flat_summary, summarize
from tffnoise.privacy.signals import MIN_PROB, logit_confidence, true_probability

MAX_ATTACKED = 2000      # members and as many non-members per repeat, as the loss / trained attacks
MAX_POPULATION_Z = 2000  # RMIA's population samples z (test examples: out of every model)
ATTACK_PART = 7          # keys.numpy_seed part of the attack-set draws


def attack_scores(target_p, target_phi, ref_p, ref_phi, in_mask, z_target_p, z_ref_p, attacks) -> dict:
    """Scores (higher = member) of each attack on the same examples; an attack the reference models
    cannot support (an example without an 'in' model, for the online variants) is left out."""
    scores = {"loss": np.log(np.clip(target_p, MIN_PROB, None))}   # −loss of the cross-entropy
    variants = []
    if "lira" in attacks:
        variants += [("lira", lambda: lira_online(target_phi, ref_phi, in_mask)),
                     ("lira_offline", lambda: lira_offline(target_phi, ref_phi, in_mask))]
    if "rmia" in attacks:
        variants += [("rmia", lambda: rmia(target_p, ref_p, in_mask, z_target_p, z_ref_p, tiebreak=True)),
                     ("rmia_offline", lambda: rmia(target_p, ref_p, in_mask, z_target_p, z_ref_p,
                                                   offline=True, a=DEFAULT_A, tiebreak=True))]
    for name, fn in variants:
        try:
            scores[name] = fn()
        except UserError:
            continue
    # A diverged reference model gives NaN for every example it predicts: that attack is left out.
    return {name: v for name, v in scores.items() if np.all(np.isfinite(v))}


# The loss attack on the strong attacks' population examples is `pop_loss`: `mia_loss_*` is the default
# loss attack's (members vs test examples, on every run, privacy_eval.baseline_attacks), and the two differ.
RESULT_NAME = {"loss": "pop_loss"}


def strong_attacks(problem, engine, attacks, n_models: int) -> list[dict]:
    """Per repeat: `mia_<attack>_auc`, `..._tpr_at_1fpr` (and 0.1% where measurable), their intervals
    and resolution flags for pop_loss (the loss attack on these examples), lira(_offline), rmia(_offline);
    plus the counts."""
    from tffnoise.algorithms.stacked import trained_examples
    from tffnoise.privacy.attack_config import client_level

    if client_level(problem.cfg):   # DP-FedAvg: the unit is the client (mia_client_*, privacy/client_level.py)
        from tffnoise.privacy.client_level import client_attacks
        return client_attacks(problem, engine, attacks, n_models)
    seed = problem.cfg.experiment.seed
    pop = population(problem, trained_examples(problem, engine.selection))
    refs = train_references(problem, pop, n_models, engine.noise_multiplier)
    rng = np.random.default_rng([int(seed), REFERENCE_REPEAT_BASE, ATTACK_PART])
    zi = rng.choice(len(problem.x_test), min(MAX_POPULATION_Z, len(problem.x_test)), replace=False)
    x = np.concatenate([pop.x, problem.x_test[zi]])
    labels = np.concatenate([pop.y, problem.y_test[zi]]).astype(int)
    target, ref = engine.predict_proba(x), refs.predict_proba(x)
    tp, tphi = true_probability(target, labels), logit_confidence(target, labels)
    rp, rphi = true_probability(ref, labels), logit_confidence(ref, labels)
    P, z = len(pop.x), slice(len(pop.x), len(x))
    results = []
    for ri, r in enumerate(problem.repeats):
        members, others = np.flatnonzero(pop.target_in[ri]), np.flatnonzero(~pop.target_in[ri])
        n = min(len(members), len(others), MAX_ATTACKED)
        row = {"mia_strong_examples": int(n), "mia_reference_models": int(n_models),
               "mia_reference_rounds": int(refs.rounds), "mia_population": int(P)}
        if n == 0 or not np.all(np.isfinite(target[ri])):   # nothing to attack, or a diverged target
            results.append(row)
            continue
        pick = np.random.default_rng([int(seed), int(r), ATTACK_PART])
        sel = np.concatenate([pick.choice(members, n, replace=False), pick.choice(others, n, replace=False)])
        scores = attack_scores(tp[ri, sel], tphi[ri, sel], rp[:, sel], rphi[:, sel], refs.in_mask[:, sel],
                               tp[ri, z], rp[:, z], attacks)
        for name, s in scores.items():
            row.update(flat_summary(RESULT_NAME.get(name, name), summarize(s[:n], s[n:], seed=int(r))))
        results.append(row)
    return results

"""Privacy numbers for finished runs: ε for DP runs (dp-accounting) and membership-inference attacks
on every run (noise-injected, DP or clean), so the privacy-utility comparison needs nothing else."""
from __future__ import annotations

import numpy as np

MAX_ATTACK_EXAMPLES = 2000


def epsilon_curve(problem, engine) -> list[float] | None:
    cfg = problem.cfg
    if cfg.privacy.mode == "none" or getattr(engine, "noise_multiplier", None) is None:
        return None
    from tffnoise.algorithms.dp import epsilons
    from tffnoise.privacy.canaries import accounting_problem

    return epsilons(cfg, accounting_problem(problem), engine.noise_multiplier)


def _drop(res: dict, attacks) -> dict:
    """The keys of attacks privacy.attacks leaves out, dropped: baseline_attacks computes the loss and the
    trained attack together (one pass over the examples), so a run that asked for one must not hold the
    other's numbers. Which key is whose: records.runs.switches_of, the one table. A second name for one
    number (`mia_loss_auc` = `mia_auc`, records.runs.SAME_AS) is dropped too."""
    from tffnoise.records.runs import asked_for

    return {k: v for k, v in res.items() if asked_for(k, attacks)}


def membership_inference(problem, engine) -> list[dict]:
    """The attacks privacy.attacks names: the loss-threshold and trained attacks (`baseline_attacks`),
    and LiRA / RMIA on reference models (`privacy.strong`), merged per repeat."""
    from tffnoise.privacy.attack_config import strong

    attacks = problem.cfg.privacy.attacks
    results = [_drop(res, attacks) for res in baseline_attacks(problem, engine)]
    chosen = strong(problem.cfg)
    if chosen:
        from tffnoise.privacy.strong import strong_attacks

        for res, extra in zip(results, strong_attacks(problem, engine, chosen, problem.cfg.privacy.reference_models)):
            res.update(extra)
    if problem.cfg.privacy.audit:
        for res, extra in zip(results, one_run_audit(problem, engine)):
            res.update(extra)
    return results


def one_run_audit(problem, engine) -> list[dict]:
    """Per repeat: the one-run audit's ε lower bound at the run's δ, beside the accountant's ε when the
    run has one (`audit_exceeds_epsilon`: the bound is above it, so the run is not as private as accounted)."""
    from tffnoise.privacy.audit import audit
    from tffnoise.privacy.canaries import canary_scores

    eps = epsilon_curve(problem, engine)
    out = []
    for ri, scores in enumerate(canary_scores(problem, engine)):
        res = audit(scores, problem.canaries.included[ri], delta=problem.cfg.privacy.delta)
        if eps is not None:
            res["audit_exceeds_epsilon"] = bool(res["audit_epsilon_lower"] > eps[-1])
        out.append(res)
    return out


def baseline_attacks(problem, engine) -> list[dict]:
    """Per repeat: members = a sample of the examples the attacked model (the one `predict_proba` gives)
    was trained on (`stacked.trained_examples`: for no-sync the picked learner's own, for fedavg the
    selected rounds' batches), non-members = held-out test examples (same count, seeded);
    loss-threshold and trained attacks. The loss attack also gets `roc.summarize`'s metrics on the same
    examples (`mia_loss_auc`, `mia_loss_tpr_at_1fpr` with `_ci` and `_below_resolution`, 0.1% where
    measurable): the one TPR every run has, DP-FedAvg's included, where no reference model is trained."""
    from tffnoise.algorithms.keys import numpy_seed
    from tffnoise.algorithms.stacked import trained_examples
    from tffnoise.privacy.mia import per_example_features, run_attacks
    from tffnoise.privacy.roc import flat_summary, summarize

    from tffnoise.privacy.canaries import real_examples

    R = len(problem.repeats)
    trained = trained_examples(problem, engine.selection) & real_examples(problem)
    picks, xs = [], []
    for ri, r in enumerate(problem.repeats):
        rng = np.random.default_rng(numpy_seed(problem.cfg.experiment.seed, r, 4))
        xm, ym = problem.x_clients[ri][trained[ri]], problem.y_clients[ri][trained[ri]]
        n = min(len(xm), len(problem.x_test), MAX_ATTACK_EXAMPLES)
        mi, ni = rng.choice(len(xm), n, replace=False), rng.choice(len(problem.x_test), n, replace=False)
        picks.append((ym[mi], problem.y_test[ni], n))
        xs.extend([xm[mi], problem.x_test[ni]])
    outs = attacked_outputs(engine, [np.concatenate(xs[2 * ri:2 * ri + 2]) for ri in range(R)]) \
        if any(n for _, _, n in picks) else None
    results = []
    for ri in range(R):
        ym, yn, n = picks[ri]
        if n == 0:  # DP-FedAvg's Poisson sampling reached this model with no client at all: nothing to attack
            results.append({"mia_auc": None, "mia_advantage": None, "mia_trained_auc": None,
                            "mia_trained_advantage": None, "mia_examples": 0})
            continue
        om, on = outs[ri][:n], outs[ri][n:2 * n]
        if problem.regression:
            lm, ln = 0.5 * (om[:, 0] - ym) ** 2, 0.5 * (on[:, 0] - yn) ** 2
            attacks = run_attacks(member_losses=lm, nonmember_losses=ln, seed=ri)
        else:
            fm, fn = per_example_features(om, ym), per_example_features(on, yn)  # once: both attacks and the ROC
            lm, ln = fm[:, 0], fn[:, 0]
            attacks = run_attacks(member_features=fm, nonmember_features=fn, seed=ri)
        res = {"mia_auc": attacks[0].auc, "mia_advantage": attacks[0].advantage,
               "mia_trained_auc": attacks[1].auc, "mia_trained_advantage": attacks[1].advantage, "mia_examples": int(n)}
        res = {k: (v if isinstance(v, int) else float(v) if np.isfinite(v) else None) for k, v in res.items()}
        if np.all(np.isfinite(lm)) and np.all(np.isfinite(ln)):   # a diverged model has no ROC to read
            res.update(flat_summary("loss", summarize(-lm, -ln, seed=ri)))
        results.append(res)
    return results


def attacked_outputs(engine, xs: list) -> list:
    """Each repeat's attacked model on its own examples xs[ri]. An engine with `predict_proba_each`
    (the stacked one) runs one model per repeat; any other runs `predict_proba` on all of them and
    keeps each repeat's slice (every model on every repeat's examples: R× the work)."""
    each = getattr(engine, "predict_proba_each", None)
    if each is not None:
        return each(xs)
    outs, offset, res = engine.predict_proba(np.concatenate(xs)), 0, []
    for ri, x in enumerate(xs):
        res.append(outs[ri, offset:offset + len(x)])
        offset += len(x)
    return res

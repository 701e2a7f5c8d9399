"""Client-level membership inference for DP-FedAvg: was this client's data in the training, not this example?

DP-FedAvg's ε speaks about add-or-remove-one *client*, so that is the unit its attacks score
(docs/privacy.md, "Client-level membership"). Same threat model as the example-level attacks: the
adversary sees the final averaged model's outputs, knows the recipe, and holds a population from the
same distribution, here at client granularity.

* **Members** of repeat ri: its clients whose update reached the final model, i.e. one of whose batches
  counted (`stacked.trained_examples`: selected in at least one round for fedavg).
* **Non-members**: held-out clients, training-split examples no learner of any repeat holds, cut into
  client-sized datasets; no target trained on them. At least `MIN_NONMEMBER_CLIENTS` make TPR@1%FPR
  measurable; with fewer, `roc.summarize` leaves the rate out (only the AUC is reported).
* **Reference models** (`reference.train_references` with client-level `idx`): each trains M population
  clients (the target's count, protocol, client sampling and DP noise) taken from its half of a seeded
  client split (`reference.halves` over clients), so each client is in about half of them; "in" is read
  back the same way as for the target.
* **Signal**: a client's score is the mean of its examples' per-example scores, as in user inference
  (Kandpal et al. 2023, "User Inference Attacks on Large Language Models", which averages per-example
  likelihood ratios over a user's samples): the mean φ for LiRA, the mean log-likelihood for the loss
  attack, and its exponential (the geometric mean of the true-class probabilities) for RMIA, whose
  population samples z are test examples grouped into clients of the same size.
"""
from __future__ import annotations

import numpy as np

from tffnoise.privacy.reference import REFERENCE_REPEAT_BASE, Population, halves, train_references, training_split
from tffnoise.privacy.roc import FPR_TARGETS
from tffnoise.privacy.signals import MIN_PROB, logit_confidence, true_probability

MIN_NONMEMBER_CLIENTS = FPR_TARGETS[0.01]   # one false positive at 1% FPR
MAX_Z_CLIENTS = 400
CLIENT_PART = 9   # seed part of the held-out clients and client halves (6-7: reference models, 8: canaries)


def member_clients(problem, selection) -> np.ndarray:
    """[R, M] bool: the clients one of whose batches reached the evaluated model."""
    from tffnoise.algorithms.stacked import trained_examples

    return trained_examples(problem, selection).any(axis=2)


def held_out_clients(problem, count: int, split=None) -> tuple[np.ndarray, np.ndarray]:
    """(x [H, n, ...], y [H, n]): up to `count` clients of n examples (the target's client size) from the
    training split's examples that no learner of any repeat holds (validation examples among them)."""
    x, y, ids = training_split(problem) if split is None else split
    n = problem.x_clients.shape[2]
    rest = np.flatnonzero(~np.isin(ids, problem.member_ids))
    rng = np.random.default_rng([int(problem.cfg.experiment.seed), REFERENCE_REPEAT_BASE, CLIENT_PART])
    h = min(count, len(rest) // n)
    pick = rng.permutation(rest)[:h * n].reshape(h, n)
    return x[pick], y[pick]


def client_population(problem, selection, split=None):
    """(x [C, n, ...], y [C, n], target_in [R, C], nonmember [C]): every repeat's clients, then the held-out
    clients (enough for MIN_NONMEMBER_CLIENTS, and for a client-level half of at least M clients)."""
    R, M = problem.x_clients.shape[:2]
    hx, hy = held_out_clients(problem, max(MIN_NONMEMBER_CLIENTS, M), split)
    x = np.concatenate([problem.x_clients.reshape((R * M,) + problem.x_clients.shape[2:]), hx])
    y = np.concatenate([problem.y_clients.reshape(R * M, -1), hy])
    target_in = np.zeros((R, len(x)), bool)
    for ri, m in enumerate(member_clients(problem, selection)):
        target_in[ri, ri * M:(ri + 1) * M] = m
    nonmember = np.zeros(len(x), bool)
    nonmember[R * M:] = True
    return x, y, target_in, nonmember


def reference_clients(n_models: int, clients: int, M: int, seed: int) -> np.ndarray:
    """[N, M] population clients of each reference model: M from its half of a seeded client split
    (balanced when there are 2M clients), topped up from the other half when a half is smaller than M."""
    keep = halves(n_models, clients, int(seed) + CLIENT_PART)
    rng = np.random.default_rng([int(seed), REFERENCE_REPEAT_BASE, CLIENT_PART, 1])
    return np.stack([np.concatenate([rng.permutation(np.flatnonzero(k)), rng.permutation(np.flatnonzero(~k))])[:M]
                     for k in keep])


def client_signals(probs, labels) -> tuple[np.ndarray, np.ndarray]:
    """Per client: (geometric-mean true-class probability, mean φ) from probs [..., C, n, classes]."""
    shape = probs.shape[:-1]
    flat = probs.reshape(shape[:-2] + (-1, probs.shape[-1]))
    p = true_probability(flat, labels.ravel()).reshape(shape)
    phi = logit_confidence(flat, labels.ravel()).reshape(shape)
    return np.exp(np.log(np.clip(p, MIN_PROB, None)).mean(axis=-1)), phi.mean(axis=-1)


def test_clients(problem, n: int):
    """(x [Z, n, ...], y [Z, n]): RMIA's population samples z, test examples (out of every model) grouped
    into clients of n."""
    rng = np.random.default_rng([int(problem.cfg.experiment.seed), REFERENCE_REPEAT_BASE, CLIENT_PART, 2])
    z = min(MAX_Z_CLIENTS, len(problem.x_test) // n)
    pick = rng.permutation(len(problem.x_test))[:z * n].reshape(z, n)
    return problem.x_test[pick], problem.y_test[pick]


def _by_client(probs, labels):
    return probs.reshape(probs.shape[:1] + labels.shape + probs.shape[-1:])


def client_attacks(problem, engine, attacks, n_models: int, split=None) -> list[dict]:
    """Per repeat: `mia_client_<attack>_auc`, `..._tpr_at_1fpr` (with 100 or more non-member clients),
    intervals and flags for loss, lira(_offline), rmia(_offline); plus the client counts."""
    from tffnoise.privacy.roc import flat_summary, summarize
    from tffnoise.privacy.strong import attack_scores

    x, y, target_in, nonmember = client_population(problem, engine.selection, split)
    C, n, M = len(x), x.shape[1], problem.learners
    chosen = reference_clients(n_models, C, M, problem.cfg.experiment.seed)
    idx = chosen[:, :, None] * n + np.arange(n)                       # [N, M, n] into the flat population
    flat_x, flat_y = x.reshape((C * n,) + x.shape[2:]), y.reshape(-1)
    refs = train_references(problem, Population(x=flat_x, y=flat_y, target_in=target_in), n_models,
                            engine.noise_multiplier, idx=idx)
    in_mask = refs.in_mask.reshape(n_models, C, n).any(axis=2)          # [N, C]: one of its batches counted
    zx, zy = test_clients(problem, n)
    xa = np.concatenate([flat_x, zx.reshape((-1,) + x.shape[2:])])
    ya = np.concatenate([y, zy]).astype(int)
    tp, tphi = client_signals(_by_client(engine.predict_proba(xa), ya), ya)
    rp, rphi = client_signals(_by_client(refs.engine.predict_proba(xa), ya), ya)
    z = slice(C, len(ya))
    results = []
    for ri in range(len(problem.repeats)):
        members, others = np.flatnonzero(target_in[ri]), np.flatnonzero(nonmember)
        row = {"mia_client_members": int(len(members)), "mia_client_nonmembers": int(len(others)),
               "mia_client_population": int(C), "mia_client_examples": int(n),
               "mia_reference_models": int(n_models), "mia_reference_rounds": int(refs.rounds)}
        if not len(members) or not len(others) or not np.all(np.isfinite(tp[ri])):
            results.append(row)   # nothing to attack, or a diverged target
            continue
        sel = np.concatenate([members, others])
        scores = attack_scores(tp[ri, sel], tphi[ri, sel], rp[:, sel], rphi[:, sel], in_mask[:, sel],
                               tp[ri, z], rp[:, z], attacks)
        for name, s in scores.items():
            row.update(flat_summary("client_" + name, summarize(s[:len(members)], s[len(members):],
                                                         seed=int(problem.repeats[ri]))))
        results.append(row)
    return results

"""What the strong attacks cost (issue 22 item 7): reference models trained per second on the digits and
SUSY shapes, and the time to score 10,000 examples against 64 reference models.

    uv run python benchmarks/privacy_cost.py [--quick] [--json OUT]

Reference models: N of them in one stacked cell (`privacy.reference.reference_problem`, the engine the runs
use), on a population twice one repeat's pool, with the target's recipe:

    digits  the dp_baseline recipe's model: 5 learners × 100 examples, MLP 64-128-10 (ReLU), B = 10,
            sync every 10 steps, 60 rounds (60 epochs; a reference learner's half keeps them)
    SUSY    paper 1's net on the SYNTHETIC SUSY-like stand-in: 10 learners × 500 examples, sigmoid
            18-32-64-2, B = 10, sync every 10 steps, uniform weight noise 0.5 at every sync, 10 rounds

Printed per shape and N: end-to-end seconds (problem, engine build and tracing, every round), the first
round (tracing included), the steady rounds, and models/s both ways. Scoring: the attack scores of every
strong attack (`privacy.strong.attack_scores`: loss, LiRA and RMIA online/offline) on 10,000 examples
× 64 reference models with 2,000 population samples z, and `roc.summarize` (AUC, TPR@1%FPR, 200 bootstrap
resamples) of each; synthetic score arrays, since only their shapes matter here.

The full run takes under 2 minutes on an idle 2-core machine; a section that would start after 100 s is
skipped and says so. Not a test (tests/benchmarks runs `--quick` only): numbers from a loaded machine mean
nothing; the lead measures on a quiet one.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import dataset, susy_overrides  # noqa: E402

BUDGET_S = 100.0
DIGITS = ['data.source="digits"', "data.clients=5", "data.examples_per_client=100", "model.hidden=[128]",
          'model.activation="relu"', 'training.protocol="periodic-averaging"', "training.batch_size=10",
          "training.sync_period=10", "training.learning_rate=0.25", "privacy.membership_inference=false"]
FULL = {"digits": {"rounds": 60, "models": (16, 64)}, "susy": {"m": 10, "per_client": 500, "rounds": 10, "models": (16, 64)},
        "scoring": {"examples": 10_000, "models": 64, "z": 2_000}}
QUICK = {"digits": {"rounds": 2, "models": (2,)}, "susy": {"m": 2, "per_client": 40, "rounds": 2, "models": (2,)},
         "scoring": {"examples": 400, "models": 4, "z": 100}}


def _problem(shape: str, sizes: dict):
    from tffnoise.algorithms.problem import prepare
    from tffnoise.config import load_config

    if shape == "digits":
        return prepare(load_config(None, DIGITS + [f"training.rounds={sizes['rounds']}"]), [0])
    m, n = sizes["m"], sizes["per_client"]
    cfg = load_config(None, susy_overrides(m, n, 200, sizes["rounds"]))
    return prepare(cfg, [0], dataset("susy", m, n, 200))


def _population(problem):
    """Twice one repeat's pool (the real population's size); its contents do not change the cost."""
    from tffnoise.privacy.reference import Population

    x = problem.x_clients[0].reshape(-1, *problem.x_clients.shape[3:])
    y = problem.y_clients[0].reshape(-1)
    rng = np.random.default_rng(0)
    x2 = (x + rng.normal(0, 0.1, x.shape)).astype(x.dtype)
    return Population(x=np.concatenate([x, x2]), y=np.concatenate([y, y]), target_in=np.zeros((1, 2 * len(x)), bool))


def reference_rows(shape: str, sizes: dict, deadline: float, skipped: list[str]) -> list[dict]:
    from tffnoise.algorithms.stacked import StackedEngine
    from tffnoise.privacy.reference import reference_problem

    problem = _problem(shape, sizes)
    pop = _population(problem)
    rows = []
    for n in sizes["models"]:
        t0 = time.perf_counter()
        if t0 > deadline:
            skipped.append(f"{shape}, {n} models")
            continue
        ref, _ = reference_problem(problem, pop, n, None)
        engine = StackedEngine(ref)
        t1 = time.perf_counter()
        engine.run_round()
        t2 = time.perf_counter()
        if ref.rounds > 1:
            engine.run_rounds(ref.rounds - 1)
        t3 = time.perf_counter()
        steady = (t3 - t2) * ref.rounds / (ref.rounds - 1) if ref.rounds > 1 else t3 - t1
        rows.append({"section": "reference models", "shape": shape, "models": n, "learners": problem.learners,
                     "rounds": int(ref.rounds), "examples_per_learner": int(ref.x_clients.shape[2]),
                     "e2e_s": t3 - t0, "first_round_s": t2 - t1, "steady_s": t3 - t2,
                     "models_per_s": n / (t3 - t0), "steady_models_per_s": n / steady})
    return rows


def scoring_rows(sizes: dict) -> list[dict]:
    from tffnoise.privacy.reference import halves
    from tffnoise.privacy.roc import summarize
    from tffnoise.privacy.strong import attack_scores

    n, k, nz = sizes["examples"], sizes["models"], sizes["z"]
    rng = np.random.default_rng(0)
    member = np.arange(n) < n // 2
    in_mask = halves(k, n, seed=0)   # balanced, as the runs' reference models: every example in half of them
    ref_p = np.clip(rng.beta(5, 2, (k, n)) + 0.05 * in_mask, 1e-6, 1 - 1e-6)
    target_p = np.clip(rng.beta(5, 2, n) + 0.05 * member, 1e-6, 1 - 1e-6)
    logit = lambda p: np.log(p) - np.log1p(-p)  # noqa: E731
    z_ref, z_target = rng.beta(5, 2, (k, nz)), rng.beta(5, 2, nz)
    args = (target_p, logit(target_p), ref_p, logit(ref_p), in_mask, z_target, z_ref)
    attack_scores(*(a[..., :50] for a in args), ["lira", "rmia"])   # warm-up: the imports are not scoring
    t0 = time.perf_counter()
    scores = attack_scores(*args, ["lira", "rmia"])
    t1 = time.perf_counter()
    rows = [{"section": "scoring", "what": "attack_scores (loss, LiRA, RMIA online + offline)", "examples": n,
             "models": k, "z": nz, "seconds": t1 - t0}]
    for name, s in scores.items():
        t = time.perf_counter()
        summarize(s[member], s[~member], seed=0)
        rows.append({"section": "scoring", "what": f"roc.summarize {name} (200 bootstrap resamples)", "examples": n,
                     "models": k, "z": nz, "seconds": time.perf_counter() - t})
    return rows


def markdown(rows: list[dict], skipped: list[str]) -> str:
    out = ["| shape | models | learners × examples | rounds | e2e s | first round s | steady s | models/s e2e "
           "| models/s steady |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        if r["section"] == "reference models":
            out.append(f"| {r['shape']} | {r['models']} | {r['learners']} × {r['examples_per_learner']} | {r['rounds']} "
                       f"| {r['e2e_s']:.2f} | {r['first_round_s']:.2f} | {r['steady_s']:.2f} | {r['models_per_s']:.2f} "
                       f"| {r['steady_models_per_s']:.2f} |")
    out += ["", "| scoring | examples × models (z) | seconds |", "| --- | ---: | ---: |"]
    for r in rows:
        if r["section"] == "scoring":
            out.append(f"| {r['what']} | {r['examples']} × {r['models']} ({r['z']}) | {r['seconds']:.3f} |")
    out += [f"\nskipped (past the {BUDGET_S:.0f} s budget): {s}" for s in skipped]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes (the smoke test)")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = ap.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    start = time.perf_counter()
    rows, skipped = [], []
    rows += scoring_rows(sizes["scoring"])
    for shape in ("digits", "susy"):
        rows += reference_rows(shape, sizes[shape], start + BUDGET_S, skipped)
    print(markdown(rows, skipped))
    if args.json:
        args.json.write_text(json.dumps({"quick": args.quick, "rows": rows, "skipped": skipped}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

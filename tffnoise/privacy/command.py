"""`tffnoise privacy`: ε for a DP-SGD (or DP-FedAvg) setting, or the noise multiplier for a target ε.

DP-FedAvg's client-level ε is the same computation with --sample-rate clients_per_round/clients and
--steps rounds. Everything heavy is imported inside `run`, so `tffnoise --help` does not pay for it.
"""
from __future__ import annotations

import math
import sys

ACCOUNTANT_CHOICES = ("rdp", "pld", "both")
SAMPLING_CHOICES = ("poisson", "shuffle")

SAMPLING_NOTES = {
    "poisson": "each example joins each step independently with probability q",
    "shuffle": "tffnoise's batching: shuffled fixed-size batches, each example once per epoch, no amplification",
}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "privacy",
        help="Privacy accounting: epsilon for a DP-SGD setting, or the noise for a target epsilon.",
        description="Example-level (DP-SGD) or client-level (DP-FedAvg: --sample-rate clients_per_round/clients, "
                    "--steps rounds) epsilon with add-or-remove-one adjacency. See docs/privacy.md.",
    )
    parser.add_argument("--noise-multiplier", type=float, help="noise std / clipping norm")
    parser.add_argument("--sample-rate", type=float, help="q = batch size / examples")
    parser.add_argument("--batch-size", type=int, help="batch size (with --examples, instead of --sample-rate)")
    parser.add_argument("--examples", type=int, help="training examples (with --batch-size)")
    parser.add_argument("--steps", type=int, help="training steps")
    parser.add_argument("--epochs", type=float, help="passes over the data, instead of --steps (steps = ceil(epochs / q))")
    parser.add_argument("--delta", type=float, default=1e-5, help="delta (default 1e-5)")
    parser.add_argument("--accountant", choices=ACCOUNTANT_CHOICES, default="rdp", help="default rdp")
    parser.add_argument("--sampling", choices=SAMPLING_CHOICES, default="shuffle",
                        help="how batches are drawn; default shuffle, what tffnoise does (see docs/privacy.md)")
    parser.add_argument("--target-epsilon", type=float, help="also print the noise multiplier that reaches this epsilon")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(func=run)


def _sample_rate(args) -> tuple[float, str]:
    """q and how it was given; the batch/examples form is kept exact for the steps computation."""
    from tffnoise.errors import ConfigError, UserError

    by_size = args.batch_size is not None or args.examples is not None
    if args.sample_rate is not None and by_size:
        raise UserError("privacy.sample_rate: give --sample-rate or --batch-size with --examples, not both")
    if args.sample_rate is not None:
        return args.sample_rate, f"{args.sample_rate:g}"
    if args.batch_size is None or args.examples is None:
        raise UserError("privacy.sample_rate: missing; give --sample-rate, or --batch-size with --examples")
    if args.examples < 1:
        raise ConfigError("data.examples", args.examples, "an integer >= 1")
    if not 1 <= args.batch_size <= args.examples:
        raise ConfigError("training.batch_size", args.batch_size, f"an integer in [1, {args.examples}]")
    return args.batch_size / args.examples, f"{args.batch_size}/{args.examples}"


def _steps(args, q: float) -> int:
    from tffnoise.errors import ConfigError, UserError

    if args.steps is not None and args.epochs is not None:
        raise UserError("privacy.steps: give --steps or --epochs, not both")
    if args.steps is not None:
        return args.steps
    if args.epochs is None:
        raise UserError("privacy.steps: missing; give --steps or --epochs")
    if not (args.epochs >= 0 and math.isfinite(args.epochs)):
        raise ConfigError("training.epochs", args.epochs, "a finite number >= 0")
    if args.batch_size is not None:  # integer arithmetic: 60 epochs of 60000/256 is 14063 steps, not 14062
        return math.ceil(round(args.epochs * args.examples, 9) / args.batch_size)
    return math.ceil(round(args.epochs / q, 9))


def _report(args) -> dict:
    from tffnoise.errors import UserError
    from tffnoise.privacy import accounting

    if args.noise_multiplier is None and args.target_epsilon is None:
        raise UserError("privacy.noise_multiplier: missing; give --noise-multiplier and/or --target-epsilon")
    q, q_text = _sample_rate(args)
    steps = _steps(args, q)
    accountants = ("rdp", "pld") if args.accountant == "both" else (args.accountant,)
    common = dict(sample_rate=q, steps=steps, delta=args.delta, sampling=args.sampling)
    report = {"sample_rate": q, "sample_rate_given_as": q_text, "steps": steps, "delta": args.delta,
              "sampling": args.sampling, "adjacency": "add-or-remove-one"}
    if args.sampling == "shuffle":
        report["participations"] = accounting.shuffle_participations(steps, q)
    if args.noise_multiplier is not None:
        report["noise_multiplier"] = args.noise_multiplier
        report["epsilon"] = {
            a: accounting.dp_sgd_epsilon(noise_multiplier=args.noise_multiplier, accountant=a, **common)
            for a in accountants
        }
    if args.target_epsilon is not None:
        report["target_epsilon"] = args.target_epsilon
        report["noise_multiplier_for_target"] = {
            a: accounting.noise_multiplier_for_epsilon(target_epsilon=args.target_epsilon, accountant=a, **common)
            for a in accountants
        }
    return report


def _finite(value):
    """JSON has no infinity; an unbounded ε is written as null."""
    return value if isinstance(value, float) and math.isfinite(value) else None


def _print_text(report: dict) -> None:
    given = report["sample_rate_given_as"]
    batch = f" (batch {given.replace('/', ' of ')})" if "/" in given else ""
    print(f"sample rate q = {report['sample_rate']:.6g}{batch}, {report['steps']} steps, delta {report['delta']:g}")
    line = f"sampling: {report['sampling']} ({SAMPLING_NOTES[report['sampling']]})"
    if "participations" in report:
        line += f"; each example in at most {report['participations']} batches"
    print(line)
    for accountant, eps in report.get("epsilon", {}).items():
        print(f"epsilon ({accountant}): {eps:.4g}  [noise multiplier {report['noise_multiplier']:g}]")
    for accountant, sigma in report.get("noise_multiplier_for_target", {}).items():
        print(f"noise multiplier for epsilon {report['target_epsilon']:g} ({accountant}): {sigma:.4g}")


def run(args) -> int:
    import json

    from tffnoise.errors import UserError

    try:
        report = _report(args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        for key in ("epsilon", "noise_multiplier_for_target"):
            if key in report:
                report[key] = {a: _finite(v) for a, v in report[key].items()}
        print(json.dumps(report, allow_nan=False))
    else:
        _print_text(report)
    return 0

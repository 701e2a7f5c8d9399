"""Speed benchmark: tffnoise's stacked engine against its TFF engine, stock TFF and Keras, in ONE process.

    uv run python benchmarks/run.py              # full benchmark (about 10 minutes on 2 cores)
    uv run python benchmarks/run.py --quick      # tiny sizes (the smoke test runs this)
    uv run python benchmarks/run.py --json out.json --only susy,scaling

Sections (all data is the SYNTHETIC stand-in of tffnoise.data, shaped like the real set):
  susy     paper 1's SUSY MLP (18-32-64-2 sigmoid), m = 10 and 20 learners, B = 10, b = 10, 1000 examples
           per learner, uniform weight noise at every sync: stacked engine, TFF engine, stock TFF
           build_weighted_fed_avg, Keras fit of one model at B = 10 and at B = m·B.
  mnist    paper 1's MNIST MLP (784-512-512-10 ReLU), m = 10, 500 examples per learner.
  cell     a whole box-plot cell: 10 repeats × 10 learners stacked in one graph.
  sweep    a paper-1 Fig. 4.3-sized sweep through the real runner (run_sweep, temp dir):
           2 distributions × 5 levels × 3 setups (PA m=10, PA m=20, serial) × 10 repeats.
  scaling  examples/s of the stacked engine as m grows (10, 20, 50, 100) and as repeats grow (1, 5, 10, 20).

Every row is end to end (data, setup, tracing/compilation, noise, averaging, evaluation); startup (all of
it that is not steady training or evaluation) and peak memory are separate columns. Ratios are against
rows measured in the same process, so the noise of a shared machine cancels as far as it can.
Measurements are repeated (--reps, default 3; sub-second rows until they have 6 warm runs) and the median
of the warm runs (every run but the first) is reported; the first run's time is the `cold` column.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from tffnoise.tflog import quiet_tensorflow  # noqa: E402

quiet_tensorflow()
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

import common  # noqa: E402

SIZES = {
    "full": {"per_client": 1000, "test": 10000, "rounds": 10, "mnist_per_client": 500, "mnist_test": 10000,
             "mnist_rounds": 5, "tff_rounds": 3, "clients": [10, 20], "cell_repeats": 10,
             "sweep": {"levels": [0.0, 0.5, 1.0, 2.0, 4.0], "distributions": ["uniform", "gaussian-matched"],
                       "clients": [10, 20], "per_client": 1000, "test": 10000, "repeats": 10},
             "scale_m": [10, 20, 50, 100], "scale_r": [1, 5, 10, 20]},
    "quick": {"per_client": 40, "test": 200, "rounds": 2, "mnist_per_client": 20, "mnist_test": 100,
              "mnist_rounds": 1, "tff_rounds": 2, "clients": [3], "cell_repeats": 2,
              "sweep": {"levels": [0.0, 0.5], "distributions": ["uniform"], "clients": [3], "per_client": 40,
                        "test": 100, "repeats": 2},
              "scale_m": [2, 4], "scale_r": [1, 2]},
}
SECTIONS = ("susy", "mnist", "cell", "sweep", "scaling")


FAST_S = 0.5     # a warm run shorter than this is repeated FAST_WARM times: its median needs more samples
FAST_WARM = 6


def median_of(fn, reps: int) -> dict:
    """Run fn reps times (more for sub-second rows); numbers are medians of the warm runs (all runs but
    the first; the first alone when reps is 1), with every run's e2e_s kept and the cold one shown apart."""
    runs = [fn() for _ in range(reps)]
    if reps > 1:
        while len(runs) - 1 < FAST_WARM and np.median([r["e2e_s"] for r in runs[1:]]) < FAST_S:
            runs.append(fn())
    warm = runs[1:] or runs
    out = dict(runs[0])
    for k, v in runs[0].items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out[k] = float(np.median([r[k] for r in warm if r.get(k) is not None]))
    out["reps"] = len(runs)
    out["e2e_s_all"] = [round(r["e2e_s"], 3) for r in runs]
    # The first run in the process pays tracing/compilation that later runs of the same structure reuse
    # (the stacked engine caches its compiled round per structure, as a sweep does): shown apart.
    out["cold_e2e_s"] = runs[0]["e2e_s"]
    return out


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def baseline_rows(group, source, m, n, test, hid, act, lr, S, reps, include_tff: bool) -> list[dict]:
    """The systems the stacked engine is compared with: stock TFF (once: seconds per round) and Keras
    serial fit at batch 10 and at batch m·B."""
    rows = []
    if include_tff:
        log(f"{group}: stock TFF")
        rows.append({**median_of(lambda: common.run_stock_tff(source, m, n, test, S["tff_rounds"], hid, act, lr), 1),
                     "group": group})
    for batch in (10, 10 * m):
        log(f"{group}: Keras B={batch}")
        rows.append({**median_of(lambda: common.run_keras(source, m * n, test, batch, hid, act, lr), reps),
                     "group": group})
    return rows


def susy_section(S, reps, include_tff: bool) -> list[dict]:
    rows = []
    n, test, rounds = S["per_client"], S["test"], S["rounds"]
    hid, act, lr = common.SUSY_HIDDEN, "sigmoid", 0.1
    for m in S["clients"]:
        ov = common.susy_overrides(m, n, test, rounds)
        group = f"SUSY m={m}"
        log(f"{group}: stacked")
        st = median_of(lambda: common.run_engine("stacked", "susy", ov, m, n, test), reps)
        rows.append({**st, "group": group})
        if include_tff:
            log(f"{group}: TFF engine")
            # the TFF engine costs seconds per round: fewer rounds, once (its throughput is the point)
            ov_t = common.susy_overrides(m, n, test, S["tff_rounds"])
            rows.append({**median_of(lambda: common.run_engine("tff", "susy", ov_t, m, n, test), 1), "group": group})
        rows += baseline_rows(group, "susy", m, n, test, hid, act, lr, S, reps, include_tff)
    return rows


def mnist_section(S, reps, include_tff: bool) -> list[dict]:
    m, n, test, rounds = 10 if S is SIZES["full"] else S["clients"][0], S["mnist_per_client"], S["mnist_test"], S["mnist_rounds"]
    hid, act, lr = common.MNIST_HIDDEN, "relu", 0.05
    group = f"MNIST-MLP m={m}"
    rows = []
    log(f"{group}: stacked")
    rows.append({**median_of(lambda: common.run_engine("stacked", "mnist", common.mnist_overrides(m, n, test, rounds), m, n, test), reps),
                 "group": group})
    return rows + baseline_rows(group, "mnist", m, n, test, hid, act, lr, S, reps, include_tff)


def cell_section(S, reps) -> list[dict]:
    R, m, n, test = S["cell_repeats"], S["clients"][0], S["per_client"], S["test"]
    group = f"cell {R} repeats x m={m}"
    log(f"{group}: stacked")
    ov = common.susy_overrides(m, n, test, S["rounds"])
    row = median_of(lambda: common.run_engine("stacked", "susy", ov, m, n, test, repeats=R), reps)
    row["compute_s"] = row["train_s"] + row["first_round_s"] + row["eval_s"]
    return [{**row, "group": group}]


def sweep_section(S) -> list[dict]:
    sw = S["sweep"]
    log(f"sweep: {len(sw['distributions'])} distributions x {len(sw['levels'])} levels x "
        f"{len(sw['clients']) + 1} setups x {sw['repeats']} repeats")
    row = common.run_sweep_bench(sw["levels"], sw["distributions"], sw["clients"], sw["per_client"], sw["test"],
                                 sw["repeats"])
    return [{**row, "group": "sweep", "reps": 1}]


def scaling_section(S, reps) -> list[dict]:
    rows = []
    n, test, rounds = S["per_client"], S["test"], S["rounds"]
    for m in S["scale_m"]:
        log(f"scaling m={m}")
        r = median_of(lambda: common.run_engine("stacked", "susy", common.susy_overrides(m, n, test, rounds), m, n, test), reps)
        rows.append({**r, "group": "scaling m", "system": f"stacked m={m}, 1 repeat"})
    for R in S["scale_r"]:
        log(f"scaling repeats={R}")
        m = S["clients"][0]
        r = median_of(lambda: common.run_engine("stacked", "susy", common.susy_overrides(m, n, test, rounds), m, n, test, repeats=R), reps)
        rows.append({**r, "group": "scaling repeats", "system": f"stacked m={m}, {R} repeats"})
    return rows


def add_ratios(rows: list[dict]) -> None:
    """Per group: the stacked row's end-to-end and steady examples/s over each other row's."""
    for g in {r["group"] for r in rows}:
        grp = [r for r in rows if r["group"] == g]
        ref = next((r for r in grp if r["system"] == "tffnoise stacked"), None)
        if ref is None:
            continue
        for r in grp:
            r["stacked_speedup_e2e"] = ref["ex_per_s"] / r["ex_per_s"]
            if r.get("steady_ex_per_s") and ref.get("steady_ex_per_s"):
                r["stacked_speedup_steady"] = ref["steady_ex_per_s"] / r["steady_ex_per_s"]


def fmt(v, digits=2):
    if v is None:
        return "–"
    if isinstance(v, float):
        if abs(v) >= 1e5:
            return f"{v / 1e3:,.0f}k"
        if abs(v) >= 100:
            return f"{v:,.0f}"
        return f"{v:.{digits}f}"
    return str(v)


def table(rows: list[dict]) -> str:
    head = ["group", "system", "examples", "cold e2e s", "e2e s", "startup s", "train s", "eval s", "ex/s e2e", "ex/s steady",
            "stacked × (e2e)", "stacked × (steady)", "peak RSS MB", "Δ RSS MB", "test acc"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        vals = [r["group"], r["system"], int(r.get("examples", 0)), r.get("cold_e2e_s"), r.get("e2e_s"), r.get("startup_s"),
                r.get("train_s"),
                r.get("eval_s"), r.get("ex_per_s"), r.get("steady_ex_per_s"), r.get("stacked_speedup_e2e"),
                r.get("stacked_speedup_steady"), r.get("peak_rss_mb"), r.get("rss_delta_mb"), r.get("test_accuracy")]
        lines.append("| " + " | ".join(fmt(v) for v in vals) + " |")
    return "\n".join(lines)


def targets(rows: list[dict], quick: bool) -> list[dict]:
    """The issue's targets, each with the measured value and by how much it is met or missed."""
    out = []

    def add(name, value, goal, higher=True):
        if value is None:
            return
        ok = value >= goal if higher else value <= goal
        out.append({"target": name, "goal": goal, "measured": value, "met": bool(ok),
                    "factor": (value / goal) if higher else (goal / value)})

    for r in rows:
        if r["group"].startswith("SUSY m=10"):
            if r["system"] == "stock TFF fed_avg":
                add("stacked vs stock TFF, SUSY m=10 (e2e)", r["stacked_speedup_e2e"], 50)
            if r["system"] == "Keras fit B=10":
                add("stacked vs Keras B=10, SUSY m=10 (e2e)", r["stacked_speedup_e2e"], 20)
        if r["group"].startswith("cell"):
            add("examples/s with repeats stacked (cell, steady)", r.get("steady_ex_per_s"), 1e6)
            add("examples/s with repeats stacked (cell, e2e)", r.get("ex_per_s"), 1e6)
            add("10-repeat cell compute s (first round + rounds + eval)", r.get("compute_s"), 1.0, higher=False)
        if r["group"] == "sweep":
            add("Fig. 4.3-sized sweep e2e s", r["e2e_s"], 120.0, higher=False)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes (smoke test); numbers mean nothing")
    ap.add_argument("--json", metavar="FILE", help="write the results as JSON")
    ap.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections of {', '.join(SECTIONS)}")
    ap.add_argument("--reps", type=int, default=None, help="repetitions per measurement (median; default 3, quick 1)")
    ap.add_argument("--no-tff", action="store_true", help="skip the TFF engine and stock TFF rows")
    args = ap.parse_args(argv)
    only = [s for s in args.only.split(",") if s]
    bad = [s for s in only if s not in SECTIONS]
    if bad:
        ap.error(f"unknown section(s) {bad}; choose from {SECTIONS}")
    S = SIZES["quick" if args.quick else "full"]
    reps = args.reps or (1 if args.quick else 3)
    t0 = time.perf_counter()
    # Imports are a per-process cost shared by every system: paid here, once, outside every row.
    import tensorflow as tf
    import tensorflow_federated  # noqa: F401

    import tffnoise.algorithms.stacked  # noqa: F401  (sets its XLA flag before any compilation)
    from tffnoise.runner import sweep  # noqa: F401
    from tffnoise.runner.heap import freeze_import_heap

    freeze_import_heap()  # as the runner does once TF is imported (a full GC pass walks every import)
    import_s = time.perf_counter() - t0
    rows: list[dict] = []
    if "susy" in only:
        rows += susy_section(S, reps, not args.no_tff)
    if "mnist" in only:
        rows += mnist_section(S, reps, not args.no_tff)
    if "cell" in only:
        rows += cell_section(S, reps)
    if "sweep" in only:
        rows += sweep_section(S)
    if "scaling" in only:
        rows += scaling_section(S, reps)
    add_ratios(rows)
    tg = targets(rows, args.quick)

    env = {"python": platform.python_version(), "tensorflow": tf.__version__, "cpus": os.cpu_count(),
           "devices": [d.name for d in tf.config.list_physical_devices()], "xla_flags": os.environ.get("XLA_FLAGS", ""),
           "quick": args.quick, "reps": reps, "import_s": import_s, "total_s": time.perf_counter() - t0, "data": "SYNTHETIC stand-ins"}
    print(f"\n## tffnoise speed benchmark ({'QUICK sizes' if args.quick else 'full sizes'}; SYNTHETIC data)\n")
    print(f"TF {env['tensorflow']}, {env['cpus']} CPUs, devices {env['devices']}; medians of the warm runs of {reps} (6 for sub-second rows); "
          f"'stacked ×' = stacked engine's examples/s over the row's, same group, same process.\n")
    print(table(rows))
    if tg:
        print("\n| target | goal | measured | met | factor (>1 = better than goal) |\n|---|---|---|---|---|")
        for t in tg:
            print(f"| {t['target']} | {fmt(t['goal'])} | {fmt(t['measured'])} | {'yes' if t['met'] else 'NO'} | {t['factor']:.2f} |")
    print(f"\nimports (TF, TFF, tffnoise; excluded from every row) {import_s:.1f} s; total benchmark time {env['total_s']:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"env": env, "rows": rows, "targets": tg}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())

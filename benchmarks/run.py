"""Speed benchmark: tffnoise's stacked engine against its TFF engine, stock TFF and Keras, in ONE process.

    uv run python benchmarks/run.py              # full benchmark (about 10 minutes on 2 cores)
    uv run python benchmarks/run.py --quick      # tiny sizes (the smoke test runs this)
    uv run python benchmarks/run.py --json out.json --only susy,scaling

Sections (all data is the SYNTHETIC stand-in of tffnoise.data, shaped like the real set):
  limits   this machine's float32 matmul rate and memory bandwidth (benchmarks/limits.py), always measured
           first: every row's "of limit" columns divide its FLOP or byte rate (benchmarks/workmodel.py,
           whichever binds) by them. `--only limits` measures just those.
  susy     paper 1's SUSY MLP (18-32-64-2 sigmoid), m = 10 and 20 learners, B = 10, b = 10, 1000 examples
           per learner, uniform weight noise at every sync: stacked engine, TFF engine, stock TFF
           build_weighted_fed_avg, Keras fit of one model at B = 10 and at B = m·B.
  mnist    paper 1's MNIST MLP (784-512-512-10 ReLU), m = 10, 500 examples per learner.
  cell     a whole box-plot cell: 10 repeats × 10 learners stacked in one graph, SUSY and MNIST-MLP (issue 21).
  sweep    a paper-1 Fig. 4.3-sized sweep through the real runner (run_sweep, temp dir):
           2 distributions × 5 levels × 3 setups (PA m=10, PA m=20, serial) × 10 repeats; Fig. 4.4/4.3 presets: sweep_rows.py.
  cnn      paper 2's cnn-small (noise → batch norm → conv blocks) at two widths on 28×28×1 and 32×32×3
           inputs, B = 32, fedavg, 3 clients × 3 repeats stacked: stacked engine, TFF engine (the 3
           repeats one after another), stock TFF build_weighted_fed_avg on the same Keras CNN (no noise),
           Keras fit of one model; 576 examples per client (18 steps a round), stacked 3 rounds, TFF 2.
           FLOPs and bytes are counted from the built Keras model (workmodel.cnn_work). Not in the
           default sections (run it with --only cnn).
  scaling  examples/s and peak memory of the stacked engine as learners m grow (10, 100, 500), as repeats
           grow (1, 10, 50) and as the hidden width grows (SUSY inputs, two hidden layers of 64, 512, 2048),
           one axis at a time; each cell's memory is predicted first (benchmarks/memory.py) and a cell that
           would need more than 12 GiB is skipped, printing what it needs.

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
import limits  # noqa: E402
import memory  # noqa: E402
import report  # noqa: E402
from sweep_rows import RECIPE_SIZES, breakdown_table, sweep_rows  # noqa: E402
import workmodel  # noqa: E402
from workmodel import mlp_params, work  # noqa: E402

SIZES = {
    "full": {"per_client": 1000, "test": 10000, "rounds": 10, "mnist_per_client": 500, "mnist_test": 10000,
             "mnist_rounds": 5, "tff_rounds": 3, "clients": [10, 20], "cell_repeats": 10,
             "sweep": {"levels": [0.0, 0.5, 1.0, 2.0, 4.0], "distributions": ["uniform", "gaussian-matched"],
                       "clients": [10, 20], "per_client": 1000, "test": 10000, "repeats": 10},
             "scale_m": [10, 100, 500], "scale_r": [1, 10, 50], "scale_w": [64, 512, 2048],
             "cnn": {"per_client": 576, "test": 1000, "rounds": 3, "tff_rounds": 2, "widths": [0.125, 0.25]}},
    "quick": {"per_client": 40, "test": 200, "rounds": 2, "mnist_per_client": 20, "mnist_test": 100,
              "mnist_rounds": 1, "tff_rounds": 2, "clients": [3], "cell_repeats": 2,
              "sweep": {"levels": [0.0, 0.5], "distributions": ["uniform"], "clients": [3], "per_client": 40,
                        "test": 100, "repeats": 2},
              "scale_m": [2, 4], "scale_r": [1, 2], "scale_w": [8, 16],
              "cnn": {"per_client": 32, "test": 64, "rounds": 2, "tff_rounds": 1, "widths": [0.05]}},
}
SECTIONS = ("limits", "susy", "mnist", "cell", "sweep", "scaling", "cnn")
DEFAULT_SECTIONS = SECTIONS[:-1]  # cnn: --only cnn

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


def baseline_rows(group, source, m, n, test, dims, act, lr, S, reps, include_tff: bool) -> list[dict]:
    """The systems the stacked engine is compared with: stock TFF (once: seconds per round) and Keras
    serial fit at batch 10 and at batch m·B. One model's weights at a time (a TFF client, Keras)."""
    rows, hid = [], dims[1:-1]
    if include_tff:
        log(f"{group}: stock TFF")
        rows.append({**median_of(lambda: common.run_stock_tff(source, m, n, test, S["tff_rounds"], hid, act, lr), 1),
                     "group": group, "work": work(dims, 10, 1, 1, test)})
    for batch in (10, 10 * m):
        log(f"{group}: Keras B={batch}")
        rows.append({**median_of(lambda: common.run_keras(source, m * n, test, batch, hid, act, lr), reps),
                     "group": group, "work": work(dims, batch, 1, 1, test)})
    return rows


def susy_section(S, reps, include_tff: bool) -> list[dict]:
    rows = []
    n, test, rounds = S["per_client"], S["test"], S["rounds"]
    dims, act, lr = common.SUSY_DIMS, "sigmoid", 0.1
    for m in S["clients"]:
        ov = common.susy_overrides(m, n, test, rounds)
        group = f"SUSY m={m}"
        log(f"{group}: stacked")
        st = median_of(lambda: common.run_engine("stacked", "susy", ov, m, n, test), reps)
        rows.append({**st, "group": group, "work": work(dims, 10, m, 1, test)})
        if include_tff:
            log(f"{group}: TFF engine")
            # the TFF engine costs seconds per round: fewer rounds, once (its throughput is the point)
            ov_t = common.susy_overrides(m, n, test, S["tff_rounds"])
            rows.append({**median_of(lambda: common.run_engine("tff", "susy", ov_t, m, n, test), 1), "group": group,
                         "work": work(dims, 10, 1, 1, test)})
        rows += baseline_rows(group, "susy", m, n, test, dims, act, lr, S, reps, include_tff)
    return rows


def mnist_section(S, reps, include_tff: bool) -> list[dict]:
    m, n, test, rounds = 10 if S is SIZES["full"] else S["clients"][0], S["mnist_per_client"], S["mnist_test"], S["mnist_rounds"]
    dims, act, lr = common.MNIST_DIMS, "relu", 0.05
    group = f"MNIST-MLP m={m}"
    rows = []
    log(f"{group}: stacked")
    rows.append({**median_of(lambda: common.run_engine("stacked", "mnist", common.mnist_overrides(m, n, test, rounds), m, n, test), reps),
                 "group": group, "work": work(dims, 10, m, 1, test)})
    return rows + baseline_rows(group, "mnist", m, n, test, dims, act, lr, S, reps, include_tff)


def cell_section(S, reps) -> list[dict]:
    R, m, n, test = S["cell_repeats"], S["clients"][0], S["per_client"], S["test"]
    group = f"cell {R} repeats x m={m}"
    log(f"{group}: stacked")
    ov = common.susy_overrides(m, n, test, S["rounds"])
    row = median_of(lambda: common.run_engine("stacked", "susy", ov, m, n, test, repeats=R), reps)
    row["compute_s"] = row["train_s"] + row["first_round_s"] + row["eval_s"]
    rows = [{**row, "group": group, "work": work(common.SUSY_DIMS, 10, R * m, R, test)}]
    # issue 21's MNIST-MLP cell: 10 repeats x 10 learners, K = 100 models of 2.7 MB, in learner blocks
    n_mn, test_mn, rounds_mn = S["mnist_per_client"], S["mnist_test"], S["mnist_rounds"]
    group = f"MNIST-MLP cell {R} repeats x m={m}"
    log(f"{group}: stacked")
    ov = common.mnist_overrides(m, n_mn, test_mn, rounds_mn)
    row = median_of(lambda: common.run_engine("stacked", "mnist", ov, m, n_mn, test_mn, repeats=R), reps)
    row["compute_s"] = row["train_s"] + row["first_round_s"] + row["eval_s"]
    from tffnoise.algorithms.round_program import learner_block

    dims = common.MNIST_DIMS
    block = learner_block(R * m, 4 * mlp_params(dims), xla=True)  # the engine's rule (its groups' K gives the same here)
    return rows + [{**row, "group": group, "learner_block": block,
                    "work": work(dims, 10, block, R, test_mn, block_steps=10 if block < R * m else 0)}]


def sweep_section(S) -> list[dict]:
    sw = S["sweep"]
    log(f"sweep: {len(sw['distributions'])} distributions x {len(sw['levels'])} levels x "
        f"{len(sw['clients']) + 1} setups x {sw['repeats']} repeats")
    row = common.run_sweep_bench(sw["levels"], sw["distributions"], sw["clients"], sw["per_client"], sw["test"],
                                 sw["repeats"])
    # FLOP model of a PA m = 10 cell of the sweep (its setups differ: m = 20, serial)
    return [{**row, "group": "sweep", "reps": 1,
             "work": work(common.SUSY_DIMS, 10, sw["repeats"] * sw["clients"][0], sw["repeats"], 0)}] + sweep_rows(S)


def scaling_section(S, reps) -> list[dict]:
    """One axis at a time from the SUSY cell (m = 10 or the quick size, 1 repeat, 32-64 sigmoid)."""
    n, test, rounds, m0 = S["per_client"], S["test"], S["rounds"], S["clients"][0]
    cases = [("scaling m", f"stacked m={m}, 1 repeat", m, 1, common.SUSY_HIDDEN) for m in S["scale_m"]]
    cases += [("scaling repeats", f"stacked m={m0}, {R} repeats", m0, R, common.SUSY_HIDDEN) for R in S["scale_r"]]
    cases += [("scaling width", f"stacked m={m0}, hidden {w}-{w}", m0, 1, [w, w]) for w in S["scale_w"]]
    rows = []
    for group, system, m, R, hidden in cases:
        log(f"{group}: {system}")
        dims = [common.SUSY_DIMS[0], *hidden, common.SUSY_DIMS[-1]]
        ov = common.susy_overrides(m, n, test, rounds, hidden=hidden)
        need = memory.predict_cell_bytes(dims, m, R, n, test)
        row = memory.guarded({"group": group, "system": system, "work": work(dims, 10, m * R, R, test)}, need,
                             lambda: median_of(lambda: common.run_engine("stacked", "susy", ov, m, n, test, repeats=R), reps))
        if row.get("skipped"):
            log(f"{group}: {system} skipped: {row['skipped']}")
        rows.append(row)
    return rows


def cnn_section(S, reps, include_tff: bool) -> list[dict]:
    """cnn-small per source and width: every row's work model is counted from the built Keras model
    (workmodel.cnn_work); the TFF engine runs the 3 repeats one after another, so one model is resident."""
    C, m, R, B = S["cnn"], 3, 3, 32
    n, test = C["per_client"], C["test"]
    shapes = {"mnist": (28, 28, 1), "cifar10": (32, 32, 3)}
    rows = []
    # The graph runtime's convolutions are Eigen's unless TensorFlow's oneDNN kernels are on (1.5x on the
    # stacked step here, docs/performance.md): TF turns them on by default only on CPUs with AVX-512
    # VNNI/BF16 or AMX, TF_ENABLE_ONEDNN_OPTS=1 forces them. Both engines follow the same setting.
    from tensorflow.python.util import _pywrap_util_port
    onednn = bool(_pywrap_util_port.IsMklEnabled())
    log(f"cnn: oneDNN kernels {'on' if onednn else 'off'} (TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset')})")
    for source in ("mnist", "cifar10"):
        for width in C["widths"]:
            group = f"cnn-small w={width} {source}"
            model = common.cnn_model(width, shapes[source], 10)
            log(f"{group}: stacked")
            ov = common.cnn_overrides(source, m, n, test, C["rounds"], width)
            rows.append({**median_of(lambda: common.run_engine("stacked", source, ov, m, n, test, repeats=R), reps),
                         "group": group, "onednn": onednn, "work": workmodel.cnn_work(model, B, m * R, R, test)})
            if include_tff:
                log(f"{group}: TFF engine")
                ov_t = common.cnn_overrides(source, m, n, test, C["tff_rounds"], width)
                # cold and warm (the target compares warm e2e); the TFF engine retraces on every run
                rows.append({**median_of(lambda: common.run_engine("tff", source, ov_t, m, n, test, repeats=R), min(reps, 2)),
                             "group": group, "work": workmodel.cnn_work(model, B, 1, R, test)})
                log(f"{group}: stock TFF")
                rows.append({**median_of(lambda: common.run_stock_tff(source, m, n, test, C["tff_rounds"], None, None, 0.01,
                                                                      B, n // B, cnn_width=width), 1),
                             "group": group, "work": workmodel.cnn_work(model, B, 1, 1, test)})
            log(f"{group}: Keras B={B}")
            rows.append({**median_of(lambda: common.run_keras(source, m * n, test, B, None, None, 0.01, cnn_width=width), reps),
                         "group": group, "work": workmodel.cnn_work(model, B, 1, 1, test)})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes (smoke test); numbers mean nothing")
    ap.add_argument("--json", metavar="FILE", help="write the results as JSON")
    ap.add_argument("--only", default=",".join(DEFAULT_SECTIONS), help=f"comma-separated sections of {', '.join(SECTIONS)}")
    ap.add_argument("--reps", type=int, default=None, help="repetitions per measurement (median; default 3, quick 1)")
    ap.add_argument("--no-tff", action="store_true", help="skip the TFF engine and stock TFF rows")
    args = ap.parse_args(argv)
    only = [s for s in args.only.split(",") if s]
    bad = [s for s in only if s not in SECTIONS]
    if bad:
        ap.error(f"unknown section(s) {bad}; choose from {SECTIONS}")
    S = {**SIZES["quick" if args.quick else "full"], "recipes": RECIPE_SIZES["quick" if args.quick else "full"]}
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
    # The limits first, in this process (every row's fraction of limit divides by them): always measured.
    log("limits: float32 matmul and memory bandwidth")
    lim = limits.measure(args.quick)
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
    if "cnn" in only:
        rows += cnn_section(S, reps, not args.no_tff)
    report.add_ratios(rows)
    report.add_fractions(rows, lim)
    tg = report.targets(rows, args.quick)

    env = {"python": platform.python_version(), "tensorflow": tf.__version__, "cpus": os.cpu_count(),
           "devices": [d.name for d in tf.config.list_physical_devices()], "xla_flags": os.environ.get("XLA_FLAGS", ""),
           "quick": args.quick, "reps": reps, "import_s": import_s, "total_s": time.perf_counter() - t0, "data": "SYNTHETIC stand-ins"}
    print(f"\n## tffnoise speed benchmark ({'QUICK sizes' if args.quick else 'full sizes'}; SYNTHETIC data)\n")
    print(f"TF {env['tensorflow']}, {env['cpus']} CPUs, devices {env['devices']}; medians of the warm runs of {reps} (6 for sub-second rows); "
          f"'stacked ×' = stacked engine's examples/s over the row's, same group, same process; 'of limit' = the "
          f"row's FLOP or byte rate (whichever binds, 'bound') over this machine's limit (the first table, measured in this process).\n")
    print(limits.table(lim))
    if rows:
        print("\n" + report.table(rows) + ("\n\n" + breakdown_table(rows) if any("preset_e2e_s" in r for r in rows) else ""))
    if tg:
        print("\n" + report.targets_table(tg))
    print(f"\nimports (TF, TFF, tffnoise; excluded from every row) {import_s:.1f} s; total benchmark time {env['total_s']:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"env": env, "limits": lim, "rows": rows, "targets": tg}, indent=1,
                                              default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())

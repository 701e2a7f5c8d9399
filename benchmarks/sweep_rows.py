"""Whole recipe sweeps as the recipes run them (issue 21): the recipe's own TOML and preset, the
synthetic stand-in, through the real runner (data, compile, training, evaluation at the recipe's
cadence, checkpoints, saved models, the default membership inference), with where the time went summed
over the cells' `cell_finished` timings. Only the grid is reduced (per-run sizes never are): a row that
runs k of the preset's N settings says so and estimates the whole preset's time (`preset_estimate`:
compilation once per program structure, the rest per cell), with the naive ×N/k beside it."""
from __future__ import annotations

import tempfile
import time

import numpy as np

from workmodel import work

from tffnoise.runner.timings import PARTS

BREAKDOWN = (*PARTS, "other")  # the columns, in runner/timings.py's order; they sum to the cells' wall
# Per recipe: the row's name, the recipe file, the levels and distributions its reduced grid keeps,
# and the model's layer widths for the work model.
RECIPES = {
    "fig44": ("Fig. 4.4 MNIST-MLP", "mnist.toml", (784, 512, 512, 10)),
    "fig43": ("Fig. 4.3 SUSY", "susy.toml", (18, 32, 64, 2)),
}

# Per benchmark size, per recipe: (preset, the reduced grid; None = the preset's whole grid). Full: the
# paper presets' per-run sizes, 4 of Fig. 4.4's 9 settings per setup (both distributions, each compiled
# once and then warm: a Gaussian cell trains ~40% slower than a uniform one, its draws cost 4x), 1 of
# Fig. 4.3's 7 per setup.
RECIPE_SIZES = {
    "full": {"fig44": ("paper", {"noise.weights.level": [0.1, 0.25],
                                 "noise.weights.distribution": ["uniform", "gaussian-matched"]}),
             "fig43": ("paper", {"noise.weights.level": [0.5], "noise.weights.distribution": ["uniform"]})},
    "quick": {"fig44": ("smoke", {"noise.weights.level": [0.25], "noise.weights.distribution": ["uniform"]}),
              "fig43": ("smoke", {"noise.weights.level": [1.0], "noise.weights.distribution": ["uniform"]})},
}


def recipe_base(toml: str, preset: str, out: str, grid: dict | None = None) -> dict:
    """The recipe's config as `python -m tffnoise.recipes.X --preset P --synthetic` builds it, with
    only its sweep grid replaced (None: the preset's whole grid)."""
    from tffnoise.recipes.base import recipe_configs

    return recipe_configs([toml], preset, out, overrides=[] if grid is None else [("sweep.grid", grid)],
                          synthetic=True)[0]


def structure(cfg) -> tuple:
    """The part of a cell's config that decides its compiled round program in these recipes: the
    protocol and each mechanism's fields but its level, with whether the level is 0 (levels and learning
    rates are runtime inputs: `round_key.RoundKey`). Cells with equal structures share one compilation."""
    mech = tuple(sorted((n, tuple(sorted((k, repr(v)) for k, v in vars(m).items() if k != "level")), m.level == 0)
                        for n, m in cfg.noise.items()))
    return cfg.training.protocol, mech


def preset_estimate(cells: list[dict], outside_s: float, preset_cells: list) -> dict:
    """The whole preset's time from the cells run. A warm cell (it compiled no program: `compiled` 0)
    is what each further cell of its protocol costs. A cell that compiled is paid once, as measured: its
    excess over its protocol's warm cell holds its structure's compilation and what a process or a
    protocol pays once (data loading, the first evaluation's compile, imports on first use, the first
    checkpoint of a cell shape). Each of the preset's structures (`structure`) not among the measured
    ones adds one more compilation: the mean of `compile` − the warm cells' first call (`warm_first`).
    Time outside cells (planning, the store) is scaled by the cell count. Falls back to ×N/k when a
    protocol has no warm cell (every cell compiled: nothing to tell compilation from work)."""
    k, n = len(cells), len(preset_cells)
    warm: dict = {}
    for c in cells:
        if not c["compiled"]:
            warm.setdefault(c["protocol"], []).append(c["wall"])
    protocols = {cfg.training.protocol for cfg in preset_cells}
    if not protocols <= set(warm):
        return {"preset_e2e_s": (sum(c["wall"] for c in cells) + outside_s) * n / k, "estimate": f"×{n}/{k}"}
    warm_wall = {p: float(np.mean(w)) for p, w in warm.items()}
    warm_first = float(np.median([c["compile"] for c in cells if not c["compiled"]]))
    compiling = [c for c in cells if c["compiled"]]
    once_s = sum(max(0.0, c["wall"] - warm_wall[c["protocol"]]) for c in compiling)
    per_structure = float(np.mean([max(0.0, c["compile"] - warm_first) for c in compiling])) if compiling else 0.0
    structures = {structure(cfg) for cfg in preset_cells}
    more = max(0, len(structures) - len(compiling))
    cells_s = sum(warm_wall[cfg.training.protocol] for cfg in preset_cells)
    return {"preset_e2e_s": cells_s + once_s + more * per_structure + outside_s * n / k,
            "preset_once_s": once_s, "preset_more_compile_s": more * per_structure, "preset_structures": len(structures),
            "warm_first_call_s": warm_first, "warm_cell_s": warm_wall,
            "estimate": f"{n} cells at their protocol's warm cell + {len(compiling)} measured and {more} more compilations"}


def run_recipe_sweep(key: str, preset: str, grid: dict | None) -> dict:
    """One row: the sweep's end-to-end seconds, its breakdown summed over cells, the whole preset's
    estimated time (`preset_estimate`)."""
    import common
    from tffnoise.algorithms import round_program
    from tffnoise.runner.sweep import plan, run_sweep

    name, toml, dims = RECIPES[key]
    with tempfile.TemporaryDirectory() as d:
        whole_cells = [c[0].config for c in plan(recipe_base(toml, preset, d))[1]]
        whole = len(whole_cells)
        base = recipe_base(toml, preset, d, grid)
        specs, cells = plan(base)
        protocol = {s.run_id: s.config.training.protocol for s in specs}
        res: dict = {"system": f"{name} preset {preset} (runner)", "settings": len(cells), "settings_total": whole,
                     "runs": len(specs)}
        parts = dict.fromkeys(BREAKDOWN + ("wall",), 0.0)
        per_cell: list = []  # each cell's timings_s, its protocol and how many programs it compiled
        seen = set(round_program.compiled_keys())  # a cell's programs are built in its setup, before cell_started

        def emit(e):
            if e["event"] == "cell_finished":
                t = e["timings_s"]
                for k in parts:
                    parts[k] += t[k]
                per_cell.append({"protocol": protocol[e["runs"][0]], **t, "compiled": len(round_program.compiled_keys() - seen)})
                seen.update(round_program.compiled_keys())
        with common.measured(res):
            out = run_sweep(base, emit)
        res["status"] = out["status"]
    cfg = specs[0].config
    res.update({f"cells_{k}_s": round(v, 2) for k, v in parts.items()})  # not train_s: measured() owns it
    res["cells"] = len(per_cell)
    res["per_cell"] = per_cell
    res["extrapolation"] = whole / len(cells)
    res["preset_e2e_naive_s"] = res["e2e_s"] * res["extrapolation"]
    res.update(preset_estimate(per_cell, res["e2e_s"] - parts["wall"], whole_cells))
    res["grid"] = "whole preset" if len(cells) == whole else f"{len(cells)} of {whole} settings, {res['estimate']}"
    # examples trained: every run's learners × examples per learner (serial: one learner with them all)
    res["examples"] = sum(s.config.data.clients * s.config.data.examples_per_client for s in specs)
    res["ex_per_s"] = res["examples"] / res["e2e_s"]
    R, m = cfg.experiment.repeats, cfg.data.clients
    res["work"] = work(dims, cfg.training.batch_size, R * m, R, cfg.data.test_examples)
    return res


def sweep_rows(S: dict) -> list[dict]:
    """The sizes' recipe rows: S["recipes"] maps a RECIPES key to (preset, grid or None)."""
    rows = []
    for key, (preset, grid) in S["recipes"].items():
        t = time.perf_counter()
        row = run_recipe_sweep(key, preset, grid)
        print(f"[{time.strftime('%H:%M:%S')}] {row['system']}: {row['grid']}, {time.perf_counter() - t:.0f} s", flush=True)
        rows.append({**row, "group": f"sweep {RECIPES[key][0]}", "reps": 1})
    return rows


def breakdown_table(rows: list[dict]) -> str:
    """Where each recipe sweep's time went, seconds summed over its cells, and the whole preset's time."""
    from report import fmt

    heads = ["sweep", "grid", "cells", "e2e s", *(f"{k} s" for k in BREAKDOWN), "cells' wall s", "×N/k s", "preset e2e s"]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for r in rows:
        if "preset_e2e_s" not in r:
            continue
        vals = [r["system"], r["grid"], str(r["cells"]), fmt(r["e2e_s"]), *(fmt(r[f"cells_{k}_s"]) for k in BREAKDOWN),
                fmt(r["cells_wall_s"]), fmt(r["preset_e2e_naive_s"]), fmt(r["preset_e2e_s"])]
        lines.append("| " + " | ".join(vals) + " |")
    return "\n".join(lines)

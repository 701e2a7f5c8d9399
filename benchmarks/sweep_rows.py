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
# paper presets' per-run sizes, 2 of Fig. 4.4's 9 settings per setup, 1 of Fig. 4.3's 7 per setup.
RECIPE_SIZES = {
    "full": {"fig44": ("paper", {"noise.weights.level": [0.1, 0.25], "noise.weights.distribution": ["uniform"]}),
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
    """The whole preset's time from the cells run. A cell that compiled a program (`compiled` > 0) pays
    `compile` − the first call of a warm cell (`warm_first`, the median `compile` of cells that compiled
    nothing); the first cell also loads the data and builds the initial weights (`setup` − the median
    setup of the others). Those are paid once per structure (`structure`) and once per process; every
    other second of a cell is paid by each of the preset's cells of its protocol (its protocol's mean).
    Time outside cells (planning, the store) is scaled by the cell count. Falls back to ×N/k when no
    measured cell was warm (nothing to subtract)."""
    warm = [c["compile"] for c in cells if not c["compiled"]]
    k, n = len(cells), len(preset_cells)
    if not warm or k < 2:
        return {"preset_e2e_s": (sum(c["wall"] for c in cells) + outside_s) * n / k, "estimate": f"×{n}/{k}"}
    warm_first = float(np.median(warm))
    setup_extra = max(0.0, cells[0]["setup"] - float(np.median([c["setup"] for c in cells[1:]])))
    extras = [max(0.0, c["compile"] - warm_first) for c in cells if c["compiled"]]
    per_proto: dict = {}
    for i, c in enumerate(cells):
        w = c["wall"] - (max(0.0, c["compile"] - warm_first) if c["compiled"] else 0.0) - (setup_extra if i == 0 else 0.0)
        per_proto.setdefault(c["protocol"], []).append(w)
    structures = {structure(cfg) for cfg in preset_cells}
    cells_s = sum(float(np.mean(per_proto[cfg.training.protocol])) for cfg in preset_cells)
    compile_s = len(structures) * float(np.mean(extras)) if extras else 0.0
    return {"preset_e2e_s": cells_s + compile_s + setup_extra + outside_s * n / k,
            "preset_compile_s": compile_s, "preset_structures": len(structures), "warm_first_call_s": warm_first,
            "estimate": f"{n} cells at their protocol's warm cell time + {len(structures)} compilations"}


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
        compiles: list = []
        per_cell: list = []
        programs = [0]

        def emit(e):
            if e["event"] == "cell_started":
                programs[0] = len(round_program._COMPILED)
            if e["event"] == "cell_finished":
                t = e["timings_s"]
                for k in parts:
                    parts[k] += t[k]
                compiles.append(t["compile"])
                per_cell.append({"protocol": protocol[e["runs"][0]], "compile": t["compile"], "setup": t["setup"],
                                 "wall": t["wall"], "compiled": len(round_program._COMPILED) - programs[0]})
        with common.measured(res):
            out = run_sweep(base, emit)
        res["status"] = out["status"]
    cfg = specs[0].config
    res.update({f"cells_{k}_s": round(v, 2) for k, v in parts.items()})  # not train_s: measured() owns it
    res["cells"] = len(compiles)
    res["compile_s_per_cell"] = compiles
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

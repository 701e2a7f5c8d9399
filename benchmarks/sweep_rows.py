"""Whole recipe sweeps as the recipes run them (issue 21): the recipe's own TOML and preset, the
synthetic stand-in, through the real runner (data, compile, training, evaluation at the recipe's
cadence, checkpoints, saved models, the default membership inference), with where the time went summed
over the cells' `cell_finished` timings. Only the grid is reduced (per-run sizes never are): a row that
runs k of the preset's N settings says so and states the whole preset's time extrapolated ×N/k."""
from __future__ import annotations

import tempfile
import time

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


def run_recipe_sweep(key: str, preset: str, grid: dict | None) -> dict:
    """One row: the sweep's end-to-end seconds, its breakdown summed over cells, the extrapolation."""
    import common
    from tffnoise.runner.sweep import plan, run_sweep

    name, toml, dims = RECIPES[key]
    with tempfile.TemporaryDirectory() as d:
        whole = len(plan(recipe_base(toml, preset, d))[1])
        base = recipe_base(toml, preset, d, grid)
        specs, cells = plan(base)
        res: dict = {"system": f"{name} preset {preset} (runner)", "settings": len(cells), "settings_total": whole,
                     "runs": len(specs)}
        parts = dict.fromkeys(BREAKDOWN + ("wall",), 0.0)
        compiles: list = []

        def emit(e):
            if e["event"] == "cell_finished":
                for k in parts:
                    parts[k] += e["timings_s"][k]
                compiles.append(e["timings_s"]["compile"])
        with common.measured(res):
            out = run_sweep(base, emit)
        res["status"] = out["status"]
    cfg = specs[0].config
    res.update({f"cells_{k}_s": round(v, 2) for k, v in parts.items()})  # not train_s: measured() owns it
    res["cells"] = len(compiles)
    res["compile_s_per_cell"] = compiles
    res["extrapolation"] = whole / len(cells)
    res["preset_e2e_s"] = res["e2e_s"] * res["extrapolation"]
    res["grid"] = "whole preset" if len(cells) == whole else \
        f"{len(cells)} of {whole} settings, extrapolated ×{whole}/{len(cells)}"
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

    heads = ["sweep", "grid", "cells", "e2e s", *(f"{k} s" for k in BREAKDOWN), "cells' wall s", "preset e2e s"]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for r in rows:
        if "preset_e2e_s" not in r:
            continue
        vals = [r["system"], r["grid"], str(r["cells"]), fmt(r["e2e_s"]), *(fmt(r[f"cells_{k}_s"]) for k in BREAKDOWN),
                fmt(r["cells_wall_s"]), fmt(r["preset_e2e_s"])]
        lines.append("| " + " | ".join(vals) + " |")
    return "\n".join(lines)

"""The speed benchmark keeps working: `benchmarks/run.py --quick` in a subprocess, tiny sizes, every section
(the machine's limits, stacked, TFF engine, stock TFF, Keras, a cell, a sweep through the runner, scaling
in m, repeats and width with predicted memory). No timing assertions."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))


def test_benchmark_quick_runs_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    res = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--json", str(out)],
                         capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "| group | system |" in res.stdout and "stacked ×" in res.stdout and "of limit (steady)" in res.stdout
    assert "| float32 matmul |" in res.stdout and "| memory bandwidth |" in res.stdout
    data = json.loads(out.read_text())
    systems = {r["system"] for r in data["rows"]}
    assert {"tffnoise stacked", "tffnoise tff", "stock TFF fed_avg", "tffnoise sweep (runner)"} <= systems
    assert any(s.startswith("Keras fit") for s in systems)
    for r in data["rows"]:
        assert r["e2e_s"] > 0 and r["examples"] > 0 and r["peak_rss_mb"] > 0, r["system"]
    sweep = next(r for r in data["rows"] if r["group"] == "sweep")
    assert sweep["status"]["failed"] == 0 and sweep["status"]["done"] == sweep["runs"]
    assert {r["group"] for r in data["rows"]} >= {"scaling m", "scaling repeats", "scaling width"}
    lim = data["limits"]
    assert lim["gflops"] > 0 and lim["gbs"] > 0 and lim["llc_bytes"] > 0
    for r in data["rows"]:  # every row has a work model, and so its fraction of the limit that binds
        assert r["bound"] in ("FLOP", "memory") and r["fraction_e2e"] > 0, r["system"]
        assert r["group"].startswith("scaling") == ("predicted_mb" in r), r["system"]
    assert data["targets"]  # the target table is computed (values are meaningless at quick sizes)
    check_recipe_sweep_rows(data, res.stdout)


def check_recipe_sweep_rows(data, stdout):
    """Fig. 4.4 and Fig. 4.3 recipe rows: every cell finished, the breakdown covers the cells' wall time
    (the parts sum to it, within rounding) and fits inside the sweep's end-to-end time, the naive
    extrapolation is the preset's N over the k settings run (and so is the estimate: at --quick sizes no
    cell runs warm), and the Fig. 4.4 target is there."""
    from sweep_rows import BREAKDOWN

    rows = {r["group"]: r for r in data["rows"] if "preset_e2e_s" in r}
    assert set(rows) == {"sweep Fig. 4.4 MNIST-MLP", "sweep Fig. 4.3 SUSY"}
    for r in rows.values():
        assert r["status"]["failed"] == 0 and r["status"]["done"] == r["runs"] > 0
        assert r["cells"] == r["settings"] and 0 < r["settings"] < r["settings_total"]
        parts = sum(r[f"cells_{k}_s"] for k in BREAKDOWN)
        assert abs(parts - r["cells_wall_s"]) <= 0.01 * len(BREAKDOWN) * r["cells"], (parts, r["cells_wall_s"])
        assert 0 < r["cells_wall_s"] <= r["e2e_s"]
        assert r["cells_train_s"] > 0 and r["cells_evaluate_s"] > 0 and r["cells_attacks_s"] > 0
        assert r["extrapolation"] == r["settings_total"] / r["settings"]
        assert abs(r["preset_e2e_naive_s"] - r["e2e_s"] * r["extrapolation"]) < 1e-6
        assert f"{r['settings']} of {r['settings_total']} settings, {r['estimate']}" == r["grid"]
        # --quick runs one level per protocol: every cell compiles, nothing is warm, so the estimate is ×N/k
        assert r["estimate"] == f"×{r['settings_total']}/{r['settings']}" and "preset_once_s" not in r
        assert abs(r["preset_e2e_s"] - r["preset_e2e_naive_s"]) < 1e-6
    assert rows["sweep Fig. 4.4 MNIST-MLP"]["settings_total"] == 6  # the smoke preset: 3 setups × 2 levels
    assert any(t["target"].startswith("Fig. 4.4 preset ≤ 5 min") for t in data["targets"])
    assert "| sweep | grid | cells |" in stdout and "attacks s" in stdout


@pytest.mark.slow
def test_cnn_section_quick_has_every_system_a_work_model_and_its_targets(tmp_path):
    """`--only cnn --quick` at one tiny width: stacked, TFF engine, stock TFF and Keras rows for both input
    shapes, each with a conv work model (so an "of limit"), and the CNN targets per source and width."""
    out = tmp_path / "cnn.json"
    res = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--only", "cnn", "--json", str(out)],
                         capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    data = json.loads(out.read_text())
    groups = {r["group"] for r in data["rows"]}
    assert groups == {"cnn-small w=0.05 mnist", "cnn-small w=0.05 cifar10"}
    for g in groups:
        rows = {r["system"]: r for r in data["rows"] if r["group"] == g}
        assert set(rows) == {"tffnoise stacked", "tffnoise tff", "stock TFF fed_avg", "Keras fit B=32"}
        assert rows["tffnoise stacked"]["work"]["resident"] == 9 and rows["tffnoise tff"]["work"]["resident"] == 1
        for r in rows.values():
            assert r["work"]["macs"] > 0 and r["fraction_e2e"] > 0 and r["peak_rss_mb"] > 0, r["system"]
    names = [t["target"] for t in data["targets"]]
    assert sum("vs TFF engine, cnn-small" in t for t in names) == 2
    assert sum("/ Keras fit B=32, cnn-small" in t for t in names) == 4


def test_preset_estimate_pays_compilation_once_per_structure_and_setup_once():
    """Written out by hand: two protocols, each a compiling cell and a warm one (first call 1 s, the
    compiling cells' compile 5 s); the first cell also paid the process's one-offs. The preset: 3 cells of
    "a" (two structures) and 2 of "b" (one): three structures, two measured. Deliberate errors tried:
    the naive ×N/k (each cell's compilation in every preset cell), averaging the compiling cell into the
    protocol's per-cell cost, or dropping the unmeasured structure: each changes the result."""
    from types import SimpleNamespace

    import sweep_rows
    from sweep_rows import preset_estimate

    cells = [{"protocol": "a", "compile": 5.0, "setup": 3.0, "wall": 14.0, "compiled": 2},
             {"protocol": "a", "compile": 1.0, "setup": 1.0, "wall": 6.0, "compiled": 0},
             {"protocol": "b", "compile": 5.0, "setup": 1.0, "wall": 10.0, "compiled": 1},
             {"protocol": "b", "compile": 1.0, "setup": 1.0, "wall": 5.0, "compiled": 0}]

    def cfg(protocol, level, dist="uniform"):
        return SimpleNamespace(training=SimpleNamespace(protocol=protocol),
                               noise={"weights": SimpleNamespace(level=level, distribution=dist)})
    preset = [cfg("a", 0.0), cfg("a", 0.1), cfg("a", 0.2), cfg("b", 0.1), cfg("b", 0.3)]
    assert len({sweep_rows.structure(c) for c in preset}) == 3
    est = preset_estimate(cells, outside_s=0.4, preset_cells=preset)
    # warm cells: a 6 s, b 5 s; paid once: (14 - 6) + (10 - 5); one more structure: 5 - 1 = 4 s
    want = 3 * 6.0 + 2 * 5.0 + 8.0 + 5.0 + 4.0 + 0.4 * 5 / 4
    assert abs(est["preset_e2e_s"] - want) < 1e-9, est
    assert est["preset_structures"] == 3 and est["warm_first_call_s"] == 1.0
    assert abs(est["preset_e2e_s"] - (sum(c["wall"] for c in cells) + 0.4) * 5 / 4) > 1.0  # not the naive one
    assert preset_estimate([cells[0], cells[2]], 0.4, preset)["estimate"] == "×5/2"  # no warm cell

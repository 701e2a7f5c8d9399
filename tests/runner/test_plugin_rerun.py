"""The example plug-in under both engines, plug-in contract errors, provenance and `tffnoise rerun`."""
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WINE = "examples/wine.toml"


def cli(*args):
    return subprocess.run([sys.executable, "-m", "tffnoise", *args], capture_output=True, text=True, timeout=300, cwd=ROOT)


def finals(out):
    con = sqlite3.connect(Path(out) / "index.sqlite")
    return sorted((r[0], r[1]) for r in con.execute("SELECT repeat, test_loss FROM runs"))


@pytest.mark.slow
def test_example_plugin_runs_under_both_engines_and_reruns(tmp_path):
    st, tff = tmp_path / "st", tmp_path / "tff"
    assert cli("run", WINE, "--out", str(st), "--json").returncode == 0
    res = cli("run", WINE, "--out", str(tff), "--engine", "tff", "--json")
    assert res.returncode == 0, res.stderr
    for (ra, la), (rb, lb) in zip(finals(st), finals(tff)):
        assert ra == rb and abs(la - lb) < 1e-5
    run_id = sqlite3.connect(st / "index.sqlite").execute("SELECT run_id FROM runs").fetchone()[0]
    shown = json.loads(cli("runs", str(st), "--show", run_id[:6], "--json").stdout)
    prov = shown["run"]["provenance"]
    assert prov["versions"]["tensorflow-federated"] == "0.87.0" and prov["versions"]["python"].startswith("3.11")
    assert shown["summary"]["wall_s"] > 0 and shown["summary"]["peak_memory_mb"] > 0
    assert "commit" in (prov["git"] or {"commit": None})
    rr = cli("rerun", str(st), run_id, "--json")
    assert rr.returncode == 0, rr.stderr
    assert json.loads(rr.stdout)["reproduced"] is True


@pytest.mark.parametrize("override, fragment", [
    ("model.builder=examples.nope:build", "model.builder: cannot import 'examples.nope'"),
    ("data.source=examples.wine_plugin:nothing", "data.source: module 'examples.wine_plugin' has no function 'nothing'"),
    ("data.source=examples.wine_plugin:build_model", "data.source: examples.wine_plugin:build_model raised TypeError"),
    ("model.builder=examples.wine_plugin:build_conv_model", 'set engine = "tff"'),
])
def test_plugin_contract_errors_are_one_line(override, fragment):
    res = cli("validate", WINE, "--set", override)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], res.stderr

"""Every recipe's smoke preset runs end to end as a user runs it (SUSY, MNIST and CIFAR-10 on their
synthetic stand-ins, since the real files cannot be shipped), and its outputs say SYNTHETIC."""
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

RECIPES = [("digits", False), ("susy_linear", True), ("susy", True), ("mnist", True), ("cifar", True), ("dp_baseline", False)]


def run_recipe(name, *args, env=None):
    return subprocess.run([sys.executable, "-m", f"tffnoise.recipes.{name}", *args], capture_output=True, text=True,
                          timeout=600, env={**os.environ, **(env or {})})


@pytest.mark.slow
@pytest.mark.parametrize("name, synthetic", RECIPES)
def test_smoke_preset_runs_and_reports(name, synthetic, tmp_path):
    out = tmp_path / name
    args = ["--preset", "smoke", "--out", str(out), "--json"] + (["--synthetic"] if synthetic else [])
    res = run_recipe(name, *args)
    assert res.returncode == 0, res.stderr[-2000:]
    # no TensorFlow warning floods the terminal (deprecations, tf.function retracing): tffnoise/tflog.py
    assert "WARNING:tensorflow" not in res.stderr and "retracing" not in res.stderr, res.stderr[-2000:]
    assert "loading TensorFlow…" in res.stderr and f"next: tffnoise report {out}" in res.stderr
    con = sqlite3.connect(out / "index.sqlite")
    statuses = [r[0] for r in con.execute("SELECT status FROM runs")]
    assert statuses and all(s == "done" for s in statuses)
    flags = {r[0] for r in con.execute("SELECT synthetic FROM runs")}
    assert flags == {int(synthetic)}
    summary = (out / "report" / "summary.md").read_text()
    assert ("SYNTHETIC" in summary) == synthetic
    finished = [json.loads(x) for x in res.stdout.splitlines() if '"run_finished"' in x]
    assert finished and all(e["synthetic"] == synthetic for e in finished)
    if name == "dp_baseline":
        assert "Privacy comparison" in summary and (out / "report" / "privacy_frontier.png").exists()


def test_real_data_missing_stops_with_the_expected_path(tmp_path):
    env = {"TFFNOISE_DATA_DIR": str(tmp_path / "empty"), "HOME": str(tmp_path)}
    res = run_recipe("susy", "--out", str(tmp_path / "x"), env=env)
    assert res.returncode == 2
    assert res.stderr.startswith("error:") and "SUSY" in res.stderr and str(tmp_path / "empty") in res.stderr
    assert not (tmp_path / "x").exists()
    res = run_recipe("susy", "--out", str(tmp_path / "x"), "--data-dir", str(tmp_path / "nowhere"), env=env)
    assert res.returncode == 2 and "data.path" in res.stderr and "nowhere" in res.stderr
    assert not (tmp_path / "x").exists()


def test_help_lists_each_recipes_own_presets(capsys):
    """`--preset` names what the recipe's files define (cifar's cpu preset included), read from the files."""
    from tffnoise.recipes import base

    assert base.presets(["cifar.toml"]) == ["paper", "cpu", "smoke"]
    assert "cpu" not in base.presets(["mnist.toml"])
    with pytest.raises(SystemExit):
        base.parser("cifar", "", ["cifar.toml"]).parse_args(["--help"])
    assert "one of paper, cpu, smoke" in " ".join(capsys.readouterr().out.split())

"""The CPU path for convolutions (TensorFlow's graph runtime, round_program.uses_xla) on CIFAR-shaped
inputs: with Grappler's arithmetic optimizer on, a fedavg round of 18 steps failed with AlreadyExistsError
(a TemporaryVariableOp of AddOpsRewrite inside the nested while loops); round_program turns it off."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

TOML = """engine = "stacked"
[experiment]
name = "c10"
seed = 5
repeats = 3
[data]
source = "cifar10"
synthetic = true
clients = 3
examples_per_client = 576
test_examples = 200
validation_fraction = 0.0
[model]
architecture = "cnn-small"
width = 0.125
[training]
protocol = "fedavg"
batch_size = 32
learning_rate = 0.01
sync_period = 18
rounds = 2
[privacy]
membership_inference = false
"""


@pytest.mark.slow
def test_cifar_shaped_cnn_rounds_run_in_the_graph_runtime(tmp_path):
    (tmp_path / "c.toml").write_text(TOML)
    out = subprocess.run([sys.executable, "-m", "tffnoise", "run", str(tmp_path / "c.toml"), "--out",
                          str(tmp_path / "s"), "--json"], capture_output=True, text=True, timeout=600)
    events = [json.loads(line) for line in (out.stdout + out.stderr).splitlines() if line.startswith("{")]
    assert [e.get("error") for e in events if e["event"] == "run_failed"] == []
    assert sum(e["event"] == "run_finished" for e in events) == 3 and out.returncode == 0

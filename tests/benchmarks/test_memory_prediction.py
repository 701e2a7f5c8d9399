"""The scaling rows' memory prediction (benchmarks/memory.py) against a measured cell: a fresh process
runs one stacked cell through the benchmark's own runner (SUSY inputs, hidden 1024-1024, 10 learners ×
2 repeats: 20 models of 1.07M weights) and reports the rise of its resident memory during the cell (the
benchmark's 10 ms sampler); the prediction must be within a factor of 1.5 of it. Copies of the weights
dominate here (about 3/4 of the prediction), so a model that counted one copy instead of five fails.
About 15–25 s on 2 shared cores."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import memory  # noqa: E402

WIDTH, M, R, N, TEST = 1024, 10, 2, 20, 200
FACTOR = 1.5

CELL = f"""
import json, sys
sys.path.insert(0, "benchmarks")
from tffnoise.tflog import quiet_tensorflow
quiet_tensorflow()
import tensorflow  # imports before the cell, as in the benchmark
import tffnoise.algorithms.stacked
import tffnoise.runner.cell
import common
from tffnoise.runner.provenance import peak_memory_mb
ov = common.susy_overrides({M}, {N}, {TEST}, 2, hidden=[{WIDTH}, {WIDTH}])
row = common.run_engine("stacked", "susy", ov, {M}, {N}, {TEST}, repeats={R})
print(json.dumps({{"rise_mb": row["rss_delta_mb"], "peak_mb": row["peak_rss_mb"], "maxrss_mb": peak_memory_mb()}}))
"""


@pytest.mark.slow
def test_predicted_memory_is_within_a_factor_of_the_measured_rise():
    res = subprocess.run([sys.executable, "-c", CELL], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got["maxrss_mb"] >= got["peak_mb"] - 5  # the sampler saw no more than the kernel's own peak
    predicted = memory.predict_cell_bytes([18, WIDTH, WIDTH, 2], M, R, N, TEST) / 2**20
    assert 1 / FACTOR < predicted / got["rise_mb"] < FACTOR, (predicted, got)

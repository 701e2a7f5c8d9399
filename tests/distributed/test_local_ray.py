"""A sweep through a local Ray instance gives the same numbers as the same sweep run in-process."""
import json

import numpy as np
import psutil
import pytest

from tffnoise.runner.sweep import run_sweep

from .conftest import ray_processes

pytestmark = pytest.mark.slow

BASE = {"engine": "stacked", "experiment": {"name": "tiny", "seed": 3, "repeats": 2},
        "data": {"source": "digits", "clients": 4, "examples_per_client": 40},
        "model": {"architecture": "mlp", "hidden": [8]},
        "training": {"batch_size": 10, "learning_rate": 0.2, "sync_period": 2, "rounds": 5},
        "noise": {"weights": {"distribution": "uniform", "level": 0.3, "schedule": "sync"}}}


def _listening(p):
    try:
        return [c for c in p.net_connections("inet") if c.status == psutil.CONN_LISTEN]
    except psutil.Error:
        return []


def _files(out, run_id):
    d = out / "runs" / run_id
    import tensorflow as tf

    import tffnoise.noise.layers  # noqa: F401  (registers the noise layers the saved model may hold)

    # the final model's weights (the last round is not checkpointed: the saved model is the final state)
    model = tf.keras.models.load_model(d / "model.keras", compile=False)
    ck = {str(i): w for i, w in enumerate(model.get_weights())}
    with np.load(d / "members.npz") as z:
        members = {k: z[k] for k in z.files}
    summary = json.loads((d / "summary.json").read_text())
    return (d / "metrics.jsonl").read_text(), ck, members, summary


def test_ray_sweep_is_bit_identical_to_the_local_one_and_records_its_node(tmp_path, local_ray):
    ray = local_ray
    assert {n["NodeManagerAddress"] for n in ray.nodes()} == {"127.0.0.1"}  # loopback only
    listening = {c.laddr.ip for p in ray_processes(psutil.Process()) for c in _listening(p)}
    assert listening and listening <= {"127.0.0.1", "::ffff:127.0.0.1"}, listening  # no dashboard, no 0.0.0.0
    local = run_sweep({**BASE, "out": str(tmp_path / "local")})
    events = []
    remote = run_sweep({**BASE, "out": str(tmp_path / "ray"), "execution": {"backend": "ray"}}, events.append)
    assert local["status"] == remote["status"] == {"done": 2, "diverged": 0, "failed": 0}
    ids = [r["run_id"] for r in local["rows"]]
    assert ids == [r["run_id"] for r in remote["rows"]]  # where a cell runs is not part of its identity
    for run_id in ids:
        m1, ck1, mem1, s1 = _files(tmp_path / "local", run_id)
        m2, ck2, mem2, s2 = _files(tmp_path / "ray", run_id)
        assert m1 == m2 and m1.count("\n") == 5  # every metrics row, to the last digit
        assert ck1.keys() == ck2.keys() and all(np.array_equal(ck1[k], ck2[k]) for k in ck1)
        assert all(np.array_equal(mem1[k], mem2[k]) for k in mem1)
        assert s1["final"] == s2["final"]
        assert "node" not in s1 and s2["node"]["ip"] == "127.0.0.1" and s2["node"]["node_id"]
    rows = {r["run_id"]: r for r in remote["rows"]}
    assert all(r["test_accuracy"] == l["test_accuracy"] for l in local["rows"] for r in [rows[l["run_id"]]])
    started = [e for e in events if e["event"] == "cell_started"]
    assert len(started) == 1 and started[0]["node"]
    snap = json.loads((tmp_path / "ray" / "cluster.json").read_text())
    assert snap["nodes"][0]["cpus"] >= 1 and snap["nodes"][0]["runs"] == []  # its last view: all cells done

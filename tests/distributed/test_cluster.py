"""A Ray head and a second worker node on loopback (ray.cluster_utils.Cluster): the sweep spreads over
both, and losing the worker node mid-sweep loses no run and duplicates none."""
import json
import threading
import time

import psutil
import pytest

from tffnoise.runner.sweep import run_sweep

from .conftest import assert_all_ended, ray_processes

pytestmark = pytest.mark.slow

ROUNDS = 150
BASE = {"engine": "stacked", "experiment": {"name": "cluster", "seed": 1, "repeats": 1},
        "data": {"source": "digits", "clients": 2, "examples_per_client": 20, "test_examples": 50},
        "model": {"architecture": "mlp", "hidden": [4]},
        "training": {"batch_size": 10, "learning_rate": 0.1, "sync_period": 1, "rounds": ROUNDS, "eval_every": 1},
        "sweep": {"grid": {"training.learning_rate": [0.1, 0.2, 0.3, 0.4]}},
        "execution": {"backend": "ray", "max_retries": 2}}


def test_sweep_spreads_over_two_nodes_and_survives_losing_one(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    monkeypatch.setenv("TFFNOISE_CHECKPOINT_S", "0")  # a checkpoint every round: the kill lands after one
    monkeypatch.setenv("RAY_enable_metrics_collection", "0")
    loopback = {"node_ip_address": "127.0.0.1", "num_cpus": 1}
    seen: set = set()
    me = psutil.Process()
    cluster = Cluster(initialize_head=True, head_node_args={**loopback, "include_dashboard": False})
    try:
        from tffnoise.distributed.cluster import connect

        connect(ray, cluster.address)  # before the second node: the driver attaches to the head's raylet
        worker = cluster.add_node(**loopback)
        out = tmp_path / "store"
        events, result = [], {}
        base = {**BASE, "out": str(out), "execution": {**BASE["execution"], "address": cluster.address}}
        sweep = threading.Thread(target=lambda: result.update(run_sweep(base, events.append)))
        sweep.start()
        victim = None
        deadline = time.time() + 240
        while victim is None and sweep.is_alive() and time.time() < deadline:
            seen.update(ray_processes(me))
            time.sleep(0.05)
            try:
                snap = json.loads((out / "cluster.json").read_text())
            except (OSError, ValueError):
                continue
            on_worker = [r for n in snap["nodes"] if n["node_id"] == worker.node_id for r in n["runs"]]
            for run_id in on_worker:
                try:
                    rnd = int(json.loads((out / "runs" / run_id / "metrics.jsonl").read_text().splitlines()[-1])["round"])
                except (OSError, ValueError, IndexError, KeyError):
                    continue
                if 2 <= rnd < ROUNDS - 5:
                    victim = run_id
        assert victim, "no cell ran on the worker node mid-sweep"
        seen.update(ray_processes(me))
        cluster.remove_node(worker, allow_graceful=False)  # its raylet, object store and workers, killed
        sweep.join(timeout=300)
        assert not sweep.is_alive()
        assert result["status"] == {"done": 4, "diverged": 0, "failed": 0}
        started = [e for e in events if e["event"] == "cell_started"]
        assert {e["node_id"] for e in started} == {cluster.head_node.node_id, worker.node_id}  # both nodes
        retried = [e for e in events if e["event"] == "cell_retried"]
        assert [e["runs"] for e in retried] == [[victim]]
        resumed = [e for e in started if e["runs"] == [victim]][-1]
        assert resumed["round"] >= 2 and resumed["node_id"] == cluster.head_node.node_id  # from its checkpoint
        assert len(result["rows"]) == 4
        for row in result["rows"]:  # nothing lost, nothing twice
            d = out / "runs" / row["run_id"]
            rounds = [json.loads(line)["round"] for line in (d / "metrics.jsonl").read_text().splitlines()]
            assert rounds == list(range(1, ROUNDS + 1)), row["run_id"]
            summary = json.loads((d / "summary.json").read_text())
            assert summary["status"] == "done" and summary["node"]["node_id"] == (
                cluster.head_node.node_id if row["run_id"] == victim else summary["node"]["node_id"])
    finally:
        seen.update(ray_processes(me))
        ray.shutdown()
        cluster.shutdown()
    assert_all_ended(list(seen))
    assert not ray_processes(me)

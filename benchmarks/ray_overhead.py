"""Ray's cost per cell: one 20-cell tiny sweep (digits, stacked engine, 1 repeat, 10 rounds) in-process,
on one local Ray node and on two (ray.cluster_utils.Cluster, both on loopback), as wall time and
overhead per cell against the in-process run.

On a machine with few cores the two nodes share the same cores: this measures overhead (worker start,
TensorFlow import per worker, streaming every write back to the driver), not a speed-up, which needs
nodes with their own cores. Run it on a quiet machine: `uv run python benchmarks/ray_overhead.py`.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

CELLS = 20


def base(out: str, cells: int, rounds: int) -> dict:
    return {"engine": "stacked", "out": out, "experiment": {"name": "ray-overhead", "seed": 0, "repeats": 1},
            "data": {"source": "digits", "clients": 4, "examples_per_client": 40},
            "model": {"architecture": "mlp", "hidden": [8]},
            "training": {"batch_size": 10, "learning_rate": 0.1, "sync_period": 2, "rounds": rounds},
            "sweep": {"grid": {"training.learning_rate": [round(0.01 * (i + 1), 3) for i in range(cells)]}}}


def timed(cfg: dict) -> float:
    from tffnoise.runner.sweep import run_sweep

    t = time.perf_counter()
    res = run_sweep(cfg)
    assert res["status"]["done"] == res["runs"], res["status"]
    return time.perf_counter() - t


def on_cluster(cfg: dict, nodes: int, cpus: int) -> float:
    import ray
    from ray.cluster_utils import Cluster

    from tffnoise.distributed.cluster import connect

    os.environ.setdefault("RAY_enable_metrics_collection", "0")
    loopback = {"node_ip_address": "127.0.0.1", "num_cpus": cpus}
    cluster = Cluster(initialize_head=True, head_node_args={**loopback, "include_dashboard": False})
    try:
        connect(ray, cluster.address)
        for _ in range(nodes - 1):
            cluster.add_node(**loopback)
        return timed({**cfg, "execution": {"backend": "ray", "address": cluster.address}})
    finally:
        ray.shutdown()
        cluster.shutdown()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", type=int, default=CELLS)
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--cpus-per-node", type=int, default=1)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        timed(base(f"{tmp}/warm", 1, 1))  # TensorFlow imported in this process once, untimed: the Ray rows'
        # overhead is then what Ray adds (workers started, TensorFlow imported in each, writes streamed back)
        rows = [("in-process (local runner)", timed(base(f"{tmp}/local", args.cells, args.rounds)))]
        for nodes in (1, 2):
            cfg = base(f"{tmp}/ray{nodes}", args.cells, args.rounds)
            rows.append((f"Ray, {nodes} local node(s) × {args.cpus_per_node} CPU", on_cluster(cfg, nodes, args.cpus_per_node)))
    ref = rows[0][1]
    print(f"{args.cells} cells × {args.rounds} rounds on {os.cpu_count()} visible cores "
          "(nodes share these cores: overhead, not speed-up)")
    print(f"| execution | wall s | s / cell | overhead / cell vs in-process |\n| --- | ---: | ---: | ---: |")
    for name, wall in rows:
        print(f"| {name} | {wall:.1f} | {wall / args.cells:.2f} | {(wall - ref) / args.cells:+.2f} s |")


if __name__ == "__main__":
    main()

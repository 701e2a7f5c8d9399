"""OUT/cluster.json: the Ray cluster a sweep runs on, as the driver last saw it. The TUI's Devices
screen reads it (the TUI never imports Ray); it describes a live sweep only while its writer, the
pid recorded in it, holds the store's lock."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

NAME = "cluster.json"


def snapshot(nodes: list[dict], jobs, address: str, free: dict) -> dict:
    """`nodes`: ray.nodes(); `jobs`: the driver's running tasks (node, runs, cpus, gpus); `free`:
    ray.available_resources() (the whole cluster, other users' work included)."""
    out = []
    for n in nodes:
        res = n.get("Resources") or {}
        mine = [j for j in jobs if j.node and j.node["node_id"] == n.get("NodeID")]
        cpus, gpus = float(res.get("CPU", 0)), float(res.get("GPU", 0))
        out.append({"node_id": n.get("NodeID"), "host": n.get("NodeManagerHostname"), "ip": n.get("NodeManagerAddress"),
                    "alive": bool(n.get("Alive")), "cpus": cpus, "gpus": gpus,
                    "cpus_free": max(0.0, cpus - sum(j.cpus for j in mine)),
                    "gpus_free": max(0.0, gpus - sum(j.gpus for j in mine)),
                    "runs": [s.run_id for j in mine for s in j.group]})
    return {"address": address or "local (127.0.0.1)", "updated": time.time(), "nodes": out,
            "cluster_cpus_free": float(free.get("CPU", 0)), "cluster_gpus_free": float(free.get("GPU", 0)),
            "queued_cells": sum(1 for j in jobs if j.node is None)}


def write(root: Path, snap: dict) -> None:

    from tffnoise.runner.atomic import write_json

    write_json(Path(root) / NAME, {**snap, "pid": os.getpid()})


def read(root) -> dict | None:
    """The snapshot of the sweep writing `root` now, or None (no Ray sweep, or its driver is gone)."""
    from tffnoise.runner.lock import holder, holder_alive

    try:
        snap = json.loads((Path(root) / NAME).read_bytes())
        w = holder(Path(root))
    except (OSError, ValueError):
        return None
    if not isinstance(snap, dict) or not holder_alive(w) or str(w.get("pid")) != str(snap.get("pid")):
        return None
    return snap

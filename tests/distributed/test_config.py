"""The Ray backend without Ray running: its config rules, the CLI option, the missing extra, the
worker-side proxy store, the retry rule and the cluster status file (all fast, no TensorFlow)."""
import json
import os
import sys
from pathlib import Path

import pytest

from tffnoise.config.validate import config_from_dict
from tffnoise.distributed import status
from tffnoise.distributed.driver import Job, RayDriver, resources
from tffnoise.distributed.proxy import ProxyStore
from tffnoise.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
QUICK = str(ROOT / "recipes" / "quickstart.toml")


@pytest.mark.parametrize("execution, field", [
    ({"address": "10.0.0.1:6379"}, "execution.address"),  # no setting is silently ignored
    ({"max_retries": 1}, "execution.max_retries"),
    ({"num_gpus": 1}, "execution.num_gpus"),
    ({"backend": "ray", "address": "not an address"}, "execution.address"),
    ({"backend": "ray", "num_gpus": -0.5}, "execution.num_gpus"),
    ({"backend": "slurm"}, "execution.backend"),
])
def test_execution_fields_that_do_not_apply_or_are_wrong_are_refused_by_name(execution, field):
    with pytest.raises(ConfigError, match=f"^{field}: "):
        config_from_dict({"execution": execution})


def test_tff_workers_and_ray_are_refused_together():
    with pytest.raises(ConfigError, match="^execution.workers: .*backend = 'ray'"):
        config_from_dict({"engine": "tff", "execution": {"backend": "ray", "workers": ["h:1"]}})


@pytest.mark.parametrize("address", ["", "auto", "127.0.0.1:6379", "head.lab:6379", "ray://head:10001"])
def test_ray_addresses(address):
    assert config_from_dict({"execution": {"backend": "ray", "address": address}}).execution.address == address


def test_cli_ray_option_sets_backend_and_address():
    from tffnoise.cli import _base, build_parser

    p = build_parser()
    assert _base(p.parse_args(["run", QUICK, "--ray"]))["execution"] == {"backend": "ray"}
    assert _base(p.parse_args(["run", QUICK, "--ray", "auto"]))["execution"] == {"backend": "ray", "address": "auto"}
    assert "execution" not in _base(p.parse_args(["run", QUICK]))


def test_missing_extra_is_one_line_exit_2_and_nothing_written(tmp_path, monkeypatch, capsys):
    from tffnoise.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    out = tmp_path / "store"
    assert main(["run", QUICK, "--preset", "smoke", "--out", str(out), "--ray", "--json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: execution.backend = 'ray' needs Ray") and "uv sync --extra ray" in err[0]
    assert not out.exists()


def test_a_sweep_may_not_vary_the_backend():
    from tffnoise.distributed.config import sweep_backend
    from tffnoise.runner.sweep import plan

    specs, _ = plan({"sweep": {"cases": [{"execution.backend": "ray", "training.learning_rate": 0.1},
                                         {"training.learning_rate": 0.2}]}})
    with pytest.raises(ConfigError, match="^execution.backend: .*one backend"):
        sweep_backend(specs)


def test_resources_per_cell():
    cfg = config_from_dict({"execution": {"backend": "ray"}})
    assert resources(cfg, cluster_gpus=0) == (1.0, 0.0)  # threads 0 -> one CPU; no GPU in the cluster
    assert resources(cfg, cluster_gpus=2) == (1.0, 1.0)  # auto: one GPU where there are GPUs
    cfg = config_from_dict({"execution": {"backend": "ray", "threads": 3, "num_gpus": 0.25}})
    assert resources(cfg, cluster_gpus=2) == (3.0, 0.25)
    cfg = config_from_dict({"engine": "tff", "execution": {"backend": "ray"}})
    assert resources(cfg, cluster_gpus=2) == (1.0, 0.0)  # TFF's runtime leaves GPUs idle


def test_proxy_store_sends_files_before_the_update_that_names_them(tmp_path):
    sent = []
    p = ProxyStore(tmp_path, {"r1": {"checkpoint.npz": b"old", "metrics.jsonl": b'{"round": 1}\n{"round": 2}\n'}},
                   sent.append)
    assert p.read_metrics("r1") == [{"round": 1}, {"round": 2}]
    p.truncate_metrics("r1", 1)
    p.update("r1", status="running")  # the shipped checkpoint is not sent back
    (p.run_dir("r1") / "checkpoint.npz").write_bytes(b"new")
    p.append_metrics("r1", {"round": 2})
    p.update("r1", round=2)
    (p.run_dir("r1") / "checkpoint.npz").write_bytes(b"new")  # same content: not sent again
    (p.run_dir("r1") / "model.keras").write_bytes(b"model")
    p.write_summary("r1", {"status": "done"})
    p.close()
    assert sent == [("truncate", "r1", 1), ("update", "r1", {"status": "running"}),
                    ("metrics", "r1", {"round": 2}), ("file", "r1", "checkpoint.npz", b"new"),
                    ("update", "r1", {"round": 2}), ("file", "r1", "model.keras", b"model"),
                    ("summary", "r1", {"status": "done"})]
    assert p.read_metrics("r1") == [{"round": 1}, {"round": 2}]


class FakeStore:
    def __init__(self, statuses):
        self.rows = {k: {"status": v} for k, v in statuses.items()}

    def get(self, run_id):
        return self.rows[run_id]

    def update(self, run_id, **fields):
        self.rows[run_id].update(fields)


class Spec:
    def __init__(self, run_id):
        self.run_id = run_id


def _driver(store, max_retries, monkeypatch):
    d = RayDriver.__new__(RayDriver)
    d.store, d.events, d.submitted = store, [], []
    d.emit = d.events.append
    d.execution = config_from_dict({"execution": {"backend": "ray", "max_retries": max_retries}}).execution
    d.submit = lambda group, attempts=0: d.submitted.append(([s.run_id for s in group], attempts))
    monkeypatch.setattr("tffnoise.runner.sweep.pending_groups", lambda cell, store: [cell])
    return d


def test_a_lost_task_is_resubmitted_for_its_unfinished_runs_then_failed(monkeypatch):
    store = FakeStore({"a": "done", "b": "running"})
    d = _driver(store, 1, monkeypatch)
    d.lost(Job([Spec("a"), Spec("b")], 0, 1, 0), RuntimeError("node died"))
    assert d.submitted == [(["b"], 1)] and store.rows["b"]["status"] == "interrupted"
    assert store.rows["a"]["status"] == "done" and d.events[0]["event"] == "cell_retried"
    d.lost(Job([Spec("b")], 1, 1, 0), RuntimeError("node died again"))  # max_retries = 1 used up
    assert d.submitted == [(["b"], 1)] and store.rows["b"]["status"] == "failed"
    assert "lost 2 time(s)" in store.rows["b"]["error"] and "node died again" in store.rows["b"]["error"]


def test_cluster_status_is_shown_only_while_its_writer_holds_the_store(tmp_path):
    from tffnoise.runner.lock import StoreLock

    nodes = [{"NodeID": "n1", "NodeManagerHostname": "h1", "NodeManagerAddress": "127.0.0.1", "Alive": True,
              "Resources": {"CPU": 2.0, "GPU": 1.0}},
             {"NodeID": "n2", "NodeManagerHostname": "h2", "NodeManagerAddress": "127.0.0.2", "Alive": False,
              "Resources": {"CPU": 4.0}}]
    jobs = [Job([Spec("a"), Spec("b")], 0, 1.0, 1.0, {"node_id": "n1"}), Job([Spec("c")], 0, 1.0, 0.0)]
    snap = status.snapshot(nodes, jobs, "", {"CPU": 1.0})
    assert [(n["cpus_free"], n["gpus_free"], n["runs"], n["alive"]) for n in snap["nodes"]] == [
        (1.0, 0.0, ["a", "b"], True), (4.0, 0.0, [], False)]
    assert snap["queued_cells"] == 1 and snap["cluster_cpus_free"] == 1.0
    status.write(tmp_path, snap)
    assert status.read(tmp_path) is None  # nobody holds the store
    with StoreLock(tmp_path):
        assert status.read(tmp_path)["nodes"][0]["host"] == "h1"
        data = json.loads((tmp_path / status.NAME).read_text())
        (tmp_path / status.NAME).write_text(json.dumps({**data, "pid": os.getpid() + 1}))
        assert status.read(tmp_path) is None  # a file left by an earlier sweep



def test_runs_show_names_the_node_a_ray_cell_ran_on(tmp_path):
    from tffnoise.cli_runs import describe, run_details
    from tffnoise.runner.store import Store

    store = Store(tmp_path)
    store.register("r1", {"setting_id": "s1", "repeat": 0}, "", {})
    store.update("r1", status="done", round=1, rounds=1)
    store.write_summary("r1", {"final": {}, "node": {"host": "lab2", "ip": "10.0.0.7", "node_id": "ab" * 28}})
    assert "  node      lab2 10.0.0.7 (Ray node abababababab)" in describe(run_details(store, "r1")).splitlines()
    store.write_summary("r1", {"final": {}})
    assert "node " not in describe(run_details(store, "r1"))  # a local run: no node line
    store.close()


def test_a_cell_error_message_fails_its_runs_and_a_user_error_stops_the_sweep(monkeypatch):
    from tffnoise.errors import UserError

    store = FakeStore({"a": "running", "b": "running"})
    d = _driver(store, 3, monkeypatch)
    job = Job([Spec("a"), Spec("b")], 0, 1, 0, {"node_id": "n", "host": "h"})
    d.apply(job, ("update", "a", {"status": "running", "pid": 1}))
    assert store.rows["a"]["pid"] == os.getpid()  # the driver, the store's lock holder, owns running rows
    d.apply(job, ("failed", "ValueError: boom"))
    assert [store.rows[k]["status"] for k in "ab"] == ["failed", "failed"] and d.submitted == []
    with pytest.raises(UserError, match="bad model"):
        d.apply(job, ("user_error", "bad model"))

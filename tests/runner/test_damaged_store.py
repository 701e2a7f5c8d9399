"""Item 5 of issue 18: damaged store files (generated here by truncating or overwriting each in turn) are
named and worked around by every command; the run folders are the source of truth."""
import io
import json
import sqlite3

import numpy as np
import pytest

from tests.runner.conftest import cli
from tffnoise.config import config_from_dict, to_toml
from tffnoise.records.load import records_from_store
from tffnoise.runner.lock import StoreLock
from tffnoise.runner.store import Store, open_store
from tffnoise_tui.store_reader import StoreReader

ROUNDS = 4


def make_store(root, n=2):
    cfg = config_from_dict({"training": {"protocol": "serial"}})
    store = Store(root)
    for i in range(n):
        rid = f"run{i}"
        store.register(rid, {"setting_id": "s", "repeat": i, "setup": "serial", "protocol": "serial", "mechanism": "none",
                             "distribution": "", "level": 0.0, "synthetic": 0}, to_toml(cfg),
                       {"run_id": rid, "setting_id": "s", "repeat": i, "overrides": [], "config": cfg.to_dict()})
        for t in range(1, ROUNDS + 1):
            store.append_metrics(rid, {"round": t, "train_loss": 1.0 / t, "cumulative_train_loss": 2.0 - 1.0 / t,
                                       "test_accuracy": 0.5 + 0.01 * t})
        final = {"test_accuracy": 0.54 + i / 100, "test_loss": 0.7, "train_loss": 0.25}
        store.write_summary(rid, {"run_id": rid, "status": "done", "final": final, "rounds": ROUNDS})
        store.update(rid, status="done", round=ROUNDS, rounds=ROUNDS, test_accuracy=final["test_accuracy"], test_loss=0.7)
    store.close()
    return root / "runs"


def _one_warning(stderr, path):
    lines = [x for x in stderr.splitlines() if x.strip()]
    assert lines and all(x.startswith("warning: ") for x in lines) and any(str(path) in x for x in lines), stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("cut", ["mid-line", "line boundary"])
def test_cut_history_of_a_finished_run_is_flagged_by_show_report_and_tui(tmp_path, cut):
    runs = make_store(tmp_path / "s")
    m = runs / "run0" / "metrics.jsonl"
    data = m.read_bytes()
    m.write_bytes(data[: len(data) // 2 + 3] if cut == "mid-line" else b"".join(data.splitlines(True)[:2]))
    res = cli("runs", str(tmp_path / "s"), "--show", "run0", "--json")
    assert res.returncode == 0
    shown = json.loads(res.stdout)
    assert shown["history"]["complete"] is False and "incomplete" in shown["history"]["problem"]
    _one_warning(res.stderr, m)
    assert json.loads(cli("runs", str(tmp_path / "s"), "--show", "run1", "--json").stdout)["history"]["complete"] is True
    recs = {r["run_id"]: r for r in records_from_store(open_store(tmp_path / "s"))}
    assert recs["run0"]["history_incomplete"] and recs["run0"]["history"] == []
    assert recs["run1"]["history_incomplete"] is None and len(recs["run1"]["history"]) == ROUNDS
    tui = {r["run_id"]: r for r in StoreReader(tmp_path / "s").records()}
    assert tui["run0"]["history_incomplete"] and tui["run1"]["history_incomplete"] is None
    if cut == "mid-line":  # report takes seconds (matplotlib): once
        res = cli("report", str(tmp_path / "s"))
        assert res.returncode == 0, res.stderr
        _one_warning(res.stderr, m)


def test_truncated_summary_reads_as_missing_and_the_run_as_unfinished(tmp_path):
    runs = make_store(tmp_path / "s")
    p = runs / "run1" / "summary.json"
    p.write_bytes(p.read_bytes()[:20])
    res = cli("runs", str(tmp_path / "s"), "--show", "run1", "--json")
    assert res.returncode == 0 and json.loads(res.stdout)["summary"] == {}
    _one_warning(res.stderr, p)
    recs = {r["run_id"]: r for r in records_from_store(open_store(tmp_path / "s"))}
    assert recs["run1"]["final"]["test_accuracy"] == 0.55  # from the index
    store = Store(tmp_path / "s")
    assert "summary.json" in store.check_finished("run1") and store.get("run1")["status"] == "interrupted"
    assert store.check_finished("run0") is None and store.get("run0")["status"] == "done"


def test_cut_history_makes_run_rerun_from_round_zero(tmp_path):
    runs = make_store(tmp_path / "s")
    (runs / "run0" / "metrics.jsonl").write_bytes(b'{"round": 1}\n{"rou')
    store = Store(tmp_path / "s")
    assert "round 0" in store.check_finished("run0")
    assert store.get("run0")["status"] == "pending" and not (runs / "run0" / "summary.json").exists()
    assert not (runs / "run0" / "metrics.jsonl").exists()


@pytest.mark.parametrize("damage", [b"", b"this is not a database" * 100, b"SQLite format 3\x00" + b"\xff" * 3000],
                         ids=["empty", "garbage", "bad-pages"])
def test_damaged_index_is_rebuilt_from_the_run_folders_by_every_command(tmp_path, damage):
    make_store(tmp_path / "s")
    idx = tmp_path / "s" / "index.sqlite"
    want = {r["run_id"]: r for r in Store(tmp_path / "s").all()}
    idx.write_bytes(damage)
    res = cli("runs", str(tmp_path / "s"), "--json")
    assert res.returncode == 0, res.stderr
    _one_warning(res.stderr, idx)
    got = {r["run_id"]: r for r in json.loads(res.stdout)}
    assert got.keys() == want.keys()
    for rid in want:
        for key in ("status", "round", "rounds", "test_accuracy", "setting_id", "repeat", "setup", "mechanism"):
            assert got[rid][key] == want[rid][key], key
    assert sqlite3.connect(idx).execute("SELECT count(*) FROM runs").fetchone()[0] == 2  # rebuilt on disk
    if damage == b"":  # report takes seconds (matplotlib): once
        idx.write_bytes(damage)
        assert cli("report", str(tmp_path / "s")).returncode == 0
    idx.write_bytes(damage)
    assert len(StoreReader(tmp_path / "s").rows()) == 2


def test_reader_leaves_the_index_file_alone_while_a_writer_holds_the_store(tmp_path):
    make_store(tmp_path / "s")
    idx = tmp_path / "s" / "index.sqlite"
    idx.write_bytes(b"garbage")
    lock = StoreLock(tmp_path / "s").acquire()
    try:
        import subprocess
        import sys

        res = subprocess.run([sys.executable, "-c", "import sys; from tffnoise.runner.store import open_store; "
                              "print(len(open_store(sys.argv[1]).all()))", str(tmp_path / "s")],
                             capture_output=True, text=True)
        assert res.stdout.strip() == "2" and "read from the 2 run folders" in res.stderr
        assert idx.read_bytes() == b"garbage"
    finally:
        lock.release()


def test_truncated_checkpoint_restarts_the_run_with_a_warning(tmp_path, capsys):
    from tffnoise.runner.cell import load_checkpoint, save_checkpoint

    runs = make_store(tmp_path / "s")
    store = Store(tmp_path / "s")
    save_checkpoint(store, "run0", {"round": np.int64(3), "w": np.ones(100)})
    assert int(load_checkpoint(store, "run0")["round"]) == 3
    p = runs / "run0" / "checkpoint.npz"
    p.write_bytes(p.read_bytes()[:150])
    assert load_checkpoint(store, "run0") is None
    err = capsys.readouterr().err
    assert str(p) in err and "round 0" in err and not p.exists() and (runs / "run0" / "checkpoint.npz.damaged").exists()
    buf = io.BytesIO()
    np.savez(buf, w=np.ones(3))  # readable, but not a checkpoint
    p.write_bytes(buf.getvalue())
    assert load_checkpoint(store, "run0") is None


@pytest.mark.slow
def test_run_resumes_a_store_with_every_file_damaged(tmp_path):
    """One sweep of three runs, then: run A's history cut mid-line, B's summary and checkpoint truncated, C's
    summary truncated, the index overwritten. The next `run` rebuilds the index, reruns A and B from round
    0, resumes C from its last checkpoint (round 2: the last round is not checkpointed), and ends where
    the undamaged sweep ended."""
    from tests.runner.conftest import QUICK

    out = tmp_path / "s"
    args = ["run", QUICK, "--out", str(out), "--set", "training.rounds=3", "--set", "experiment.repeats=3",
            "--set", "sweep.grid={}", "--set", "privacy.membership_inference=false", "--set",
            "data.examples_per_client=20", "--json"]
    assert cli(*args, env={"TFFNOISE_CHECKPOINT_S": "0"}).returncode == 0
    want = {r["run_id"]: r for r in Store(out, create=False).all()}
    a, b, c = sorted(want, key=lambda rid: want[rid]["repeat"])
    m = out / "runs" / a / "metrics.jsonl"
    m.write_bytes(m.read_bytes()[:-30])
    for rid in (b, c):
        p = out / "runs" / rid / "summary.json"
        p.write_bytes(p.read_bytes()[:10])
    ck = out / "runs" / b / "checkpoint.npz"
    ck.write_bytes(ck.read_bytes()[:200])
    (out / "index.sqlite").write_bytes(b"\x00garbage" * 64)
    res = cli(*args)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    for path in (out / "index.sqlite", m, ck):
        assert str(path) in res.stderr
    starts = sorted((e["round"], sorted(e["runs"])) for e in map(json.loads, res.stdout.splitlines())
                    if e["event"] == "cell_started")
    assert starts == [(0, sorted([a, b])), (2, [c])]
    got = {r["run_id"]: r for r in Store(out, create=False).all()}
    for rid in want:
        assert got[rid]["status"] == "done"
        np.testing.assert_allclose(got[rid]["test_accuracy"], want[rid]["test_accuracy"], atol=1e-6)
        rounds = [json.loads(x)["round"] for x in (out / "runs" / rid / "metrics.jsonl").read_text().splitlines()]
        assert rounds == [1, 2, 3]


def _hold_lock_in_another_process(root):
    """A live writer (another process holding the store's lock), stopped by the caller."""
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-c", "import sys, time; from tffnoise.runner.lock import StoreLock; "
                          "StoreLock(sys.argv[1]).acquire(); print('held', flush=True); time.sleep(120)", str(root)],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


def test_a_reader_that_saw_the_index_unreadable_reads_it_again_at_the_next_poll(tmp_path):
    """A reader polling while the writer holds the store reads the run folders when the index cannot be read;
    that snapshot must not outlive the next poll (the monitor showed no runs for a finished sweep)."""
    root = tmp_path / "s"
    (root / "runs").mkdir(parents=True)
    writer = _hold_lock_in_another_process(root)
    try:
        (root / "index.sqlite").write_bytes(b"")  # a writer's index between sqlite's open and its CREATE TABLE
        reader = StoreReader(root)
        assert reader.rows() == []
        (root / "index.sqlite").unlink()
        make_store(root)
        assert [r["run_id"] for r in reader.rows()] == ["run0", "run1"]
    finally:
        writer.kill()
        writer.wait()


def test_a_new_index_is_never_seen_without_its_table(tmp_path, monkeypatch):
    """The writer creates index.sqlite whole (written aside, then renamed), so a reader never opens it empty."""
    import os

    seen = []
    real_replace = os.replace

    def spy(src, dst):
        if str(dst).endswith("index.sqlite"):
            seen.append(sqlite3.connect(src).execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall())
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    real_connect = sqlite3.connect

    def no_direct_create(path, *a, **kw):
        assert str(path) == ":memory:" or not str(path).endswith("index.sqlite") or os.path.exists(path), \
            "index.sqlite opened before it exists: sqlite would create it without its table"
        return real_connect(path, *a, **kw)

    monkeypatch.setattr(sqlite3, "connect", no_direct_create)
    Store(tmp_path / "s").close()
    assert seen == [[("runs",)]]
    assert real_connect(tmp_path / "s" / "index.sqlite").execute("SELECT count(*) FROM runs").fetchone()[0] == 0

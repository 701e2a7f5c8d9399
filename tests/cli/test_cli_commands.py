"""The light commands, as a user sees them (subprocesses): --version, `runs` help, table and --show."""
import json
import re

from tests.cli.conftest import cli


def test_version():
    res = cli("--version")
    assert res.returncode == 0 and re.fullmatch(r"tffnoise \d+\.\d+\S*\n", res.stdout), res.stdout


def test_runs_help_says_what_status_and_json_do():
    res = cli("runs", "--help")
    assert res.returncode == 0
    text = " ".join(res.stdout.split())
    assert "--status STATUS only runs with this status (pending, running, interrupted, done, diverged, failed" in text
    assert "--json machine-readable" in text


def test_runs_table_names_settings_by_what_differs(fake_store):
    out, cells = fake_store
    res = cli("runs", str(out))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["run", "setting", "rep", "status", "round", "test", "acc", "test", "loss"]
    by_run = {line.split()[0]: line for line in lines[1:]}
    for ci, cell in enumerate(cells):
        for s in cell:
            want = "periodic-averaging m=10 " + ("clean" if ci == 0 else "weights/uniform σ=0.5")
            assert want in by_run[s.run_id] and " done " in by_run[s.run_id] and "4/4" in by_run[s.run_id]
    widths = {len(line) for line in lines}  # columns fit their values: no cut, rows as wide as the longest
    assert max(widths) >= len(lines[0])


def test_runs_show_is_readable_and_json_is_for_machines(fake_store):
    out, cells = fake_store
    rid = cells[1][0].run_id
    res = cli("runs", str(out), "--show", rid[:8])
    assert res.returncode == 0, res.stderr
    text = res.stdout
    assert text.startswith(f"run {rid}  (quickstart, setting ")
    assert re.search(r"^  status\s+done, round 4/4, 1\.5 s$", text, re.M)
    assert re.search(r"^  noise\s+weights uniform 0\.5$", text, re.M)
    assert re.search(r"^    test_accuracy\s+0\.6$", text, re.M)
    assert re.search(r"^  history\s+4 rounds$", text, re.M)
    assert "{" not in text
    js = json.loads(cli("runs", str(out), "--show", rid, "--json").stdout)
    assert set(js) == {"index", "run", "summary", "history"} and js["index"]["run_id"] == rid


def test_runs_show_unknown_run_is_one_line_exit_2(fake_store):
    out, _ = fake_store
    res = cli("runs", str(out), "--show", "nosuchrun")
    assert res.returncode == 2 and res.stderr.startswith("error: run 'nosuchrun'") and len(res.stderr.splitlines()) == 1

"""What `tffnoise run` says: its plan before TensorFlow loads, a progress that names the data once, and
a per-setting summary with the next command at the end."""
import io
import math
import re

from tests.cli.conftest import ACC, LOSS, QUICK, cli


def test_header_is_printed_before_tensorflow_is_imported(tmp_path):
    fake = tmp_path / "fake"  # a `tensorflow` that refuses to import: whatever is printed first came before it
    (fake / "tensorflow").mkdir(parents=True)
    (fake / "tensorflow" / "__init__.py").write_text("raise ImportError('FAKE-TF-IMPORTED')\n")
    res = cli("run", QUICK, "--preset", "smoke", "--out", str(tmp_path / "s"), env={"PYTHONPATH": str(fake)})
    assert res.returncode != 0 and "FAKE-TF-IMPORTED" in res.stderr
    head = res.stderr[:res.stderr.index("FAKE-TF-IMPORTED")].splitlines()
    assert head[:4] == ["tffnoise: 4 runs (2 setting(s) × 2 repeat(s)), engine stacked",
                        f"  store: {tmp_path / 's'}", "  data:  digits", "loading TensorFlow…"], head


def test_progress_names_the_data_once_and_rewrites_the_loading_line():
    from tffnoise.runner.progress import TerminalProgress

    buf = io.StringIO()
    emit = TerminalProgress(buf)
    emit({"event": "sweep_started", "out": "o", "runs": 4, "finished": 0, "cells": 2})
    for runs in (["a", "b"], ["c", "d"]):
        emit({"event": "cell_started", "runs": runs, "round": 0, "rounds": 4, "synthetic": False, "dataset": "digits"})
        emit({"event": "round", "runs": runs, "round": 1, "rounds": 4, "train_loss": 0.5, "test_accuracy": None})
    text = buf.getvalue()
    assert text.count("data: digits") == 1
    assert text.startswith("\r\033[Kbuilding the first cell…\r\033[K  data: digits\n")


def test_summary_is_per_setting_mean_sd_and_t_interval(fake_store):
    from tffnoise.cli_table import summary_table
    from tffnoise.records.load import records_from_store
    from tffnoise.runner.store import open_store

    out, cells = fake_store
    store = open_store(out)
    lines = summary_table(records_from_store(store)).splitlines()
    store.close()
    assert lines[0].split()[:2] == ["setting", "n"]
    for ci, label in enumerate(["periodic-averaging m=10 clean", "periodic-averaging m=10 weights/uniform σ=0.5"]):
        row = next(line for line in lines if line.startswith(label + " "))
        nums = [float(x) for x in re.findall(r"-?\d+\.\d+", row.removeprefix(label))]
        for vals, (mean, sd, lo, hi) in ((ACC, nums[0:4]), (LOSS, nums[4:8])):
            a, b = vals[ci, 0], vals[ci, 1]
            m, s = (a + b) / 2, abs(a - b) / math.sqrt(2)  # n = 2: sd with ddof 1, t(0.975, 1) = 12.7062
            assert (mean, sd) == (round(m, 4), round(s, 4))
            assert abs(lo - (m - 12.7062 * s / math.sqrt(2))) < 1e-4 and abs(hi - (m + 12.7062 * s / math.sqrt(2))) < 1e-4
        assert row.split()[len(label.split())] == "2"  # n


def test_summary_counts_settings_with_no_finished_repeat(fake_store):
    from tffnoise.cli_table import summary_table
    from tffnoise.records.load import records_from_store
    from tffnoise.runner.store import open_store

    out, cells = fake_store
    store = open_store(out)
    for s in cells[1]:
        store.update(s.run_id, status="diverged", diverged_round=2)
    recs = records_from_store(store)
    store.close()
    row = next(line for line in summary_table(recs).splitlines() if "weights/uniform" in line)
    assert row.split()[-6:] == ["0", "-", "-", "-", "-", "2"]

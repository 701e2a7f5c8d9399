import os
import subprocess
import sys

from tffnoise.reports.build import build_report
from tffnoise.records.groups import group_records
from tffnoise.records.runs import slug
from tffnoise.reports.tables import markdown_table

EXPECTED = ["boxplot_test_accuracy_periodic-averaging_m-10.png", "boxplot_test_accuracy_serial.png",
            "boxplot_test_accuracy_serial_dp-sgd_z-1.png", "cumulative_train_loss.png", "mechanisms_vs_level.png",
            "privacy_frontier.png"]


def test_full_report_with_synthetic_banner(tmp_path, synthetic_records):
    res = build_report(synthetic_records, tmp_path)
    names = sorted(os.path.basename(p) for p in res["figures"])
    assert names == sorted(EXPECTED)
    for p in res["figures"]:
        with open(p, "rb") as fh:
            assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    text = open(res["summary"], encoding="utf-8").read()
    assert text.startswith("> **⚠ SYNTHETIC**") and "# SYNTHETIC – tffnoise report" in text
    # per-group content, diverged list, one-run group, DP table, selection, reading guide
    assert "| weights/uniform | 0.5 | 6 |" in text
    assert "| div01 | serial | weights/uniform | 0.9 | 99 | 3 |" in text
    assert "| label/uniform | 0.3 | 1 |" in text
    assert "## Privacy comparison" in text and "| 8.000 |" in text and "| 0.570 |" in text
    assert "Noise level selected by maximum SNR" in text and "on the validation curve" in text
    assert "on the test curve (no validation set)" in text  # dp-sgd runs have no validation metric
    assert "How to read this" in text and "✱" in text and "Repeats needed per arm" in text
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".")]  # no temp files left behind


def test_real_runs_have_no_banner(tmp_path, records):
    text = open(build_report(records, tmp_path)["summary"], encoding="utf-8").read()
    assert "SYNTHETIC" not in text


def test_no_clean_group_and_single_runs(tmp_path, make_run):
    recs = [make_run("a", "fedavg c=5", "fedavg", "weights", "gaussian", 0.3, 0, 0.7, 0.6),
            make_run("b", "fedavg c=5", "fedavg", "weights", "gaussian", 0.7, 0, 0.6, 0.8),
            make_run("c", "fedavg c=5", "fedavg", "weights", "gaussian", 0.9, 0, 0.0, 0.0, status="diverged",
                     diverged_round=2)]
    res = build_report(recs, tmp_path / "deep" / "out")
    names = {os.path.basename(p) for p in res["figures"]}
    assert "boxplot_test_accuracy_fedavg_m-10.png" in names and "privacy_frontier.png" not in names
    text = open(res["summary"], encoding="utf-8").read()
    assert "No run of this setup's clean reference finished" in text and "| c |" in text


def test_nothing_to_plot(tmp_path, make_run):
    recs = [make_run("x", "s", "serial", "none", "", 0, 0, 0.5, 0.5, status="failed"),
            make_run("y", "s", "serial", "none", "", 0, 1, 0.5, 0.5, status="running")]
    res = build_report(recs, tmp_path)
    assert res["figures"] == [] and "mechanisms_vs_level.png" in res["skipped"]
    assert "failed 1" in open(res["summary"], encoding="utf-8").read()
    assert build_report([], tmp_path / "empty")["figures"] == []


def test_grouping_and_helpers(make_records):
    recs = make_records(repeats=2)
    groups = group_records(recs)
    assert all(r["status"] == "done" for runs in groups.values() for r in runs)
    key = next(k for k in groups if k.mechanism == "weights" and k.level == 0.5)
    assert len(groups[key]) == 2
    assert slug("periodic-averaging m=10") == "periodic-averaging_m-10"
    assert markdown_table(["a", "b"], [[1, "x|y"]]).splitlines()[2] == "| 1 | x\\|y |"


def test_light_import():
    code = ("import sys, tffnoise.metrics, tffnoise.reports, tffnoise.reports.build, tffnoise.reports.tensorboard,"
            " tffnoise.records.groups, tffnoise.records.load, tffnoise.reports.from_store, tffnoise.metrics.snr;"
            "assert 'tensorflow' not in sys.modules; assert 'matplotlib' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)

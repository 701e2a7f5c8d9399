"""Results: structured filters, the sort indicator, export, curves of several runs, the report subprocess."""
from __future__ import annotations

import csv
import sys

import pytest

from tffnoise_tui import filters
from tffnoise_tui.screens.summary import SummaryScreen
from tffnoise_tui.widgets.curves import mean_band, smooth
from tffnoise_tui.widgets.results_table import ResultsTable
from tffnoise_tui.widgets.run_curves import RunCurves

from .conftest import make_app

pytestmark = pytest.mark.timeout(60)


def _ids(table) -> list[str]:
    return sorted(str(k.value) for k in table.rows)


async def _type_filter(pilot, text: str) -> None:
    pilot.app.screen.query_one("#filter").value = text
    await pilot.pause()


@pytest.mark.parametrize("text,expected", [
    ("noise.weights.level=0.5", ["r003aaaaaaaa", "r004aaaaaaaa", "r005aaaaaaaa"]),
    ("noise.weights.level=0.50 test_accuracy>0.8", ["r003aaaaaaaa", "r004aaaaaaaa"]),
    ("test_accuracy>0.82", ["r003aaaaaaaa", "r004aaaaaaaa"]),          # strictly greater: 0.82 is out
    ("test_accuracy<0.6", ["r007aaaaaaaa"]),
    ("status=diverged", ["divergedrun1"]),
    ("training.protocol=periodic-averaging gaussian", ["dp000bbbbbbb", "dp001bbbbbbb"]),
    ("0.8", []),                                                       # free text: labels only, no raw numbers
    ("σ=2", ["r006aaaaaaaa", "r007aaaaaaaa", "r008aaaaaaaa"]),           # ... but a label's own text matches
])
async def test_structured_filters(store_root, text, expected):
    app = make_app(store_root, start_mode="results")
    async with app.run_test(size=(100, 30)) as pilot:
        await _type_filter(pilot, text)
        assert _ids(app.screen.query_one("#results-table")) == expected
        assert str(app.screen.query_one("#note").render()).startswith(f"{len(expected)} of 12 shown")


@pytest.mark.parametrize("text,message", [("bogus.key=1", "bogus.key: no run has this key"),
                                          ("test_accuracy>high", "needs a number"), ("status=", "no value")])
async def test_a_bad_filter_term_is_said_not_ignored(store_root, text, message):
    app = make_app(store_root, start_mode="results")
    async with app.run_test(size=(100, 30)) as pilot:
        await _type_filter(pilot, text)
        assert message in str(app.screen.query_one("#note").render())
        app.screen.reload()  # a reload (the screen resumed, the store changed) keeps saying it
        await pilot.pause()
        assert message in str(app.screen.query_one("#note").render())
        await _type_filter(pilot, "")  # ... until the text parses
        assert str(app.screen.query_one("#note").render()).startswith("12 of 12 shown")


def test_filter_terms_parse():
    q = filters.parse("a.b=1 x>=2 free Word")
    assert q.terms == (filters.Term("a.b", "=", "1"), filters.Term("x", ">=", "2"))
    assert q.words == ("free", "word")


async def test_sort_indicator_and_export(store_root):
    app = make_app(store_root, start_mode="results")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        table = screen.query_one("#results-table", ResultsTable)
        screen.sort_col = "test_accuracy"
        screen.fill_runs()
        labels = {str(k.value): str(c.label) for k, c in table.columns.items()}
        assert labels["test_accuracy"] == "acc ▲" and labels["test_loss"] == "loss"
        await pilot.press("S")
        assert str(table.columns["test_accuracy"].label) == "acc ▼"
        await pilot.pause()  # re-sorted, relabelled: the columns still fit their values, not just the header
        assert table.columns["run_id"].get_render_width(table) >= 8 + 2
        assert table.columns["setup"].get_render_width(table) >= len("periodic-averaging m=10") + 2
        await _type_filter(pilot, "noise.weights.level=0.5")
        await pilot.press("escape")  # the filter box keeps its text; focus back on the table
        screen.query_one("#filter").value = "noise.weights.level=0.5"
        await pilot.pause()
        table.focus()
        await pilot.press("e")
        csv_path, md_path = screen.exported
        assert csv_path.parent == store_root / "exports" and csv_path.suffix == ".csv" and md_path.suffix == ".md"
        rows = list(csv.reader(csv_path.open()))
        assert rows[0][:3] == ["run", "status", "setup"]
        assert [r[0] for r in rows[1:]] == ["r003aaaaaaaa", "r004aaaaaaaa", "r005aaaaaaaa"]  # acc ▼, whole ids
        md = md_path.read_text().splitlines()
        assert md[0].startswith("| run | status |") and md[1].startswith("| --- |") and len(md) == 5
        assert not list((store_root / "exports").glob(".*tmp"))  # written atomically: no temp file left
        assert str(csv_path.name) in str(screen.query_one("#note").render())


def test_smoothing_and_band_arithmetic():
    assert smooth([1.0, 1.0, 1.0], 0.9) == pytest.approx([1.0, 1.0, 1.0])  # debiased: no pull towards 0
    assert smooth([0.0, 1.0], 0.5) == pytest.approx([0.0, 2 / 3])
    xs, mean, lo, hi = mean_band([([1, 2], [0.2, 0.4]), ([1, 2], [0.4, 0.8]), ([2], [0.3])])
    assert xs == [1, 2] and mean == pytest.approx([0.3, 0.5]) and lo == [0.2, 0.3] and hi == [0.4, 0.8]


async def test_curves_overlay_marked_runs_or_a_settings_repeats(store_root):
    app = make_app(store_root, start_mode="results")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        table = screen.query_one("#results-table", ResultsTable)
        curves = screen.query_one("#overlay", RunCurves)
        ids = [str(k.value) for k in table.rows]
        table.move_cursor(row=ids.index("r004aaaaaaaa"))
        await pilot.pause()
        # nothing marked: every repeat of the highlighted run's setting, with the mean and band
        assert sorted(label[:8] for label, _, _ in curves.lines) == ["r003aaaa", "r004aaaa", "r005aaaa"]
        assert curves.band is not None and curves.axes == ("round", "test_accuracy")
        assert "weights/uniform σ=0.5: 3 repeat(s)" in curves.title_text
        # mark two runs of different settings: just those two, no band
        await pilot.press("space")
        table.move_cursor(row=ids.index("r007aaaaaaaa"))
        await pilot.pause()
        await pilot.press("space")
        assert sorted(label[:8] for label, _, _ in curves.lines) == ["r004aaaa", "r007aaaa"]
        assert curves.band is None and "2 marked run(s)" in curves.title_text
        # any per-round metric of the store; smoothing
        seen = [curves.metric]
        for _ in range(5):
            await pilot.press("k")
            seen.append(curves.metric)
        assert {"test_accuracy", "test_loss", "train_loss", "train_accuracy", "cumulative_train_loss"} <= set(seen)
        assert curves.axes[1] == curves.metric
        raw = [ys for _, _, ys in curves.lines]
        await pilot.press("w")
        assert curves.smoothing == 0.6 and "EMA 0.6" in curves.title_text
        assert [ys for _, _, ys in curves.lines] != raw


REPORT_SCRIPT = """
import pathlib, sys, time
root = pathlib.Path(sys.argv[1])
print("reading the store", flush=True)
while not (root.parent / "go").exists():  # the test looks at the progress line meanwhile
    time.sleep(0.02)
(root / "report").mkdir(exist_ok=True)
(root / "report" / "summary.md").write_text("# Summary\\n\\nfake report of " + root.name + "\\n")
print(root / "report" / "summary.md", flush=True)
sys.exit(int(sys.argv[2]))
"""


@pytest.mark.parametrize("rc", [0, 3])
async def test_report_made_by_a_subprocess_then_its_summary_opens(store_root, tmp_path, rc):
    script = tmp_path / "fake_report.py"
    script.write_text(REPORT_SCRIPT)
    app = make_app(store_root, start_mode="results")
    app.report_command = lambda root: [sys.executable, str(script), str(root), str(rc)]
    async with app.run_test(size=(100, 30)) as pilot:
        line = app.screen.query_one("#report")
        await pilot.press("G")
        assert line.state == "running" and "making" in str(line.render())
        while not line.lines:  # the subprocess's first output line reaches the progress line
            await pilot.pause(0.05)
        await pilot.pause(0.6)
        assert "s · reading the store" in str(line.render())
        (store_root.parent / "go").write_text("")
        while line.state == "running":
            await pilot.pause(0.05)
        await pilot.pause()
        assert line.lines[0] == "reading the store"
        if rc == 0:
            assert isinstance(app.screen, SummaryScreen)
            assert "fake report of store" in app.screen.query_one("#summary-text").source
            await pilot.press("escape")
            assert not isinstance(app.screen, SummaryScreen)
        else:
            assert line.state == "failed" and not isinstance(app.screen, SummaryScreen)


@pytest.mark.slow
async def test_the_real_report_command_from_the_tui(store_root):
    """`tffnoise report` itself (numpy, scipy, matplotlib in the subprocess; no TensorFlow anywhere)."""
    app = make_app(store_root, start_mode="results")
    async with app.run_test(size=(100, 30)) as pilot:
        line = app.screen.query_one("#report")
        await pilot.press("G")
        while line.state == "running":
            await pilot.pause(0.1)
        assert line.state == "done", line.lines
        assert (store_root / "report" / "summary.md").exists() and isinstance(app.screen, SummaryScreen)

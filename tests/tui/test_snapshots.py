"""SVG snapshots of the main screens at 80x24 (pytest-textual-snapshot). Update with --snapshot-update."""
from __future__ import annotations

import shutil

import pytest

from tffnoise_tui.launcher import Job

from .conftest import FIXTURES, FakeLauncher, build_store, make_app, settle

pytestmark = pytest.mark.timeout(90)
SIZE = (80, 24)


@pytest.fixture
def here(tmp_path, monkeypatch):
    """Work in tmp_path so that every path on screen is relative and the same on every run."""
    build_store(tmp_path / "store")
    (tmp_path / "recipes").mkdir()
    shutil.copy(FIXTURES / "recipes" / "quick.toml", tmp_path / "recipes" / "quick.toml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


_settle = settle


def test_configure_snapshot(here, snap_compare):
    app = make_app(here / "store", recipes="recipes")
    assert snap_compare(app, terminal_size=SIZE, run_before=_settle)


def test_configure_error_snapshot(here, snap_compare):
    app = make_app(here / "store", recipes="recipes")

    async def before(pilot):
        await _settle(pilot)
        app.screen.query_one("#f-experiment--repeats").value = "0"
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_monitor_snapshot(here, snap_compare):
    launcher = FakeLauncher(FIXTURES / "quickstart_events.jsonl", clock=lambda: 1000.0)
    launcher.submit(Job(config=here / "quick.toml", out=here / "store"))
    app = make_app(here / "store", launcher=launcher, start_mode="monitor")

    async def before(pilot):
        await pilot.pause()
        app.screen.refresh_now()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_results_snapshot(here, snap_compare):
    app = make_app(here / "store", start_mode="results")
    assert snap_compare(app, terminal_size=SIZE, run_before=_settle)


def test_results_boxplot_snapshot(here, snap_compare):
    app = make_app(here / "store", start_mode="results")

    async def before(pilot):
        await _settle(pilot)
        app.screen.query_one("#tabs").active = "tab-box"
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_devices_snapshot(here, snap_compare):
    app = make_app(here / "store", start_mode="devices")
    assert snap_compare(app, terminal_size=SIZE, run_before=_settle)


def test_help_snapshot(here, snap_compare):
    app = make_app(here / "store", start_mode="devices")

    async def before(pilot):
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=before)


@pytest.mark.parametrize("keys,tab", [(("down", "down", "down"), "tab-curves"),  # σ=0.5: repeats, mean, band
                                      (("f6",), None)], ids=["curves", "store-picker"])
def test_results_after_keys_snapshot(here, snap_compare, keys, tab):
    app = make_app(here / "store", start_mode="results")

    async def before(pilot):
        await _settle(pilot)
        await pilot.press(*keys)
        if tab:
            app.screen.query_one("#tabs").active = tab
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=before)

"""Devices panel (no GPU here: NVML absent) and the `?` help panel."""
from __future__ import annotations

import pytest

from tffnoise_tui.devices import DeviceReport, Gpu, probe
from tffnoise_tui.screens.devices import DevicesScreen
from tffnoise_tui.screens.help import HelpScreen

from .conftest import make_app

pytestmark = pytest.mark.timeout(60)


def test_real_probe_never_raises():
    rep = probe()
    assert isinstance(rep, DeviceReport)
    if not rep.gpus:
        assert rep.gpu_line().startswith("no NVIDIA GPU (NVML: ")
    assert rep.cpu_count and rep.ram_total_mb


async def test_devices_without_gpu(store_root):
    app = make_app(store_root, start_mode="devices", probe=probe)  # the real probe: this machine has no GPU
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, DevicesScreen)
        line = str(screen.query_one("#gpu-line").render())
        if not probe().gpus:
            assert "no NVIDIA GPU (NVML:" in line
            assert not screen.query_one("#gpus").display
        tf = str(screen.query_one("#tf-devices").render())
        assert "CPU:/physical_device:CPU:0" in tf
        assert "CPU" in str(screen.query_one("#host").render())


async def test_devices_with_fake_gpu(store_root):
    rep = DeviceReport(gpus=[Gpu(0, "NVIDIA H100 80GB HBM3", 87.0, 40000.0, 81559.0, 61.0)], driver="550.54",
                       cpu_percent=10.0, cpu_count=16, ram_used_mb=1000.0, ram_total_mb=128000.0)
    app = make_app(store_root, start_mode="devices", probe=lambda: rep)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        t = screen.query_one("#gpus")
        assert t.display and t.row_count == 1
        assert t.get_row_at(0)[2] == "87%" and t.get_row_at(0)[4] == "61°C"
        assert "TensorFlow saw no GPU" in str(screen.query_one("#tf-devices").render())


async def test_help_panel_and_screen_keys(store_root):
    app = make_app(store_root, start_mode="results")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        for key, mode in (("f5", "devices"), ("f3", "monitor"), ("f4", "results"), ("d", "devices"),
                          ("m", "monitor"), ("f2", "configure")):
            await pilot.press(key)
            await pilot.pause()
            assert app.current_mode == mode, key
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


def test_help_is_generated_from_the_bindings(monkeypatch):
    from textual.binding import Binding

    from tffnoise_tui.screens import help as help_mod
    from tffnoise_tui.screens.results import ResultsScreen

    text = help_mod.help_markdown()
    for title, cls in help_mod.screens():
        section = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
        for b in cls.BINDINGS:
            row = next(line for line in section.splitlines() if f" {b.description or b.action} |" in line)
            assert b.key in row.split("`")[1].split(" / "), (title, b, row)
    assert "| `f2 / c` | Configure |" in text and "| `f1 / question_mark` | Help, F2-F5 |" in text  # keys of one action share a row
    monkeypatch.setattr(ResultsScreen, "BINDINGS", [*ResultsScreen.BINDINGS, Binding("z", "zap", "Zap the runs")])
    assert "| `z` | Zap the runs |" in help_mod.help_markdown()  # a new key is in the help at once


@pytest.mark.parametrize("mode", ["configure", "monitor", "results", "devices"])
async def test_footer_shows_the_screens_main_keys_at_80x24(store_root, mode):
    from textual.widgets import Footer

    app = make_app(store_root, start_mode=mode)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        shown = {k.key: k.region for k in app.screen.query_one(Footer).query("FooterKey")}
        main = [b.key for b in type(app.screen).BINDINGS if b.show] + ["question_mark", "f6"]
        for key in main:
            assert key in shown and shown[key].right <= 80 and shown[key].width > 0, (key, shown)

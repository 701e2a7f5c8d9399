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
            row = next(line for line in section.splitlines() if f"` | {b.description or b.action}" in line)
            assert help_mod.key_name(b) in row.split("`")[1].split(" / "), (title, b, row)
    assert "| `F2 / c` | Configure |" in text and "| `F1 / ?` | Help, F2-F5 |" in text  # keys of one action share a row
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


class _FakePsutil:
    """psutil's shape: Process(pid) with cpu_percent / memory_info / children, and its exceptions."""

    class NoSuchProcess(Exception):
        pass

    AccessDenied = ZombieProcess = NoSuchProcess

    def __init__(self, tree: dict[int, tuple[float, float, list[int]]]):
        self.tree = tree  # pid -> (cpu %, rss MiB, child pids)
        self.created: list[int] = []

    def Process(self, pid):
        fake = self

        class P:
            def __init__(self):
                if pid not in fake.tree:
                    raise fake.NoSuchProcess(pid)
                self.pid = pid
                fake.created.append(pid)

            def cpu_percent(self, interval=None):
                return fake.tree[self.pid][0]

            def memory_info(self):
                return type("M", (), {"rss": fake.tree[self.pid][1] * 2**20})()

            def children(self, recursive=False):
                return [fake.Process(c) for c in fake.tree[self.pid][2]]

        return P()


def test_process_probe_sums_the_runner_tree_and_keeps_its_baselines():
    from tffnoise_tui.devices import ProcessProbe

    fake = _FakePsutil({10: (150.0, 1024.0, [11]), 11: (30.0, 512.0, [])})
    probe_ = ProcessProbe(fake)
    st = probe_(10)
    assert (st.pid, st.cpu_percent, st.rss_mb, st.processes) == (10, 180.0, 1536.0, 2)
    probe_(10)
    assert fake.created.count(10) == 1  # one Process per pid, kept: psutil's CPU counts since the last call
    del fake.tree[11]  # the worker exited
    assert probe_(10).processes == 1
    assert probe_(99) is None and probe_(None) is None


def test_the_real_process_probe_reads_this_process():
    import os

    from tffnoise_tui.devices import ProcessProbe

    st = ProcessProbe()(os.getpid())
    assert st is not None and st.rss_mb > 10 and st.processes >= 1


async def test_devices_show_the_runners_cpu_and_memory(tmp_path):
    from tffnoise_tui.devices import ProcessProbe
    from tffnoise_tui.launcher import Job

    from .conftest import FIXTURES, FakeLauncher, build_store, fake_report

    root = tmp_path / "store"
    build_store(root, dp=False)
    launcher = FakeLauncher(FIXTURES / "diverged_events.jsonl", hold=True, clock=lambda: 1000.0)
    job = launcher.submit(Job(config=tmp_path / "syn.toml", out=root))
    job.pid = 4242
    fake = _FakePsutil({4242: (100.0, 2048.0, [4243]), 4243: (100.0, 2048.0, [])})
    app = make_app(root, start_mode="devices", launcher=launcher, probe=fake_report,
                   process_probe=ProcessProbe(fake))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = str(app.screen.query_one("#runner").render())
        assert "pid 4242, 2 process(es)" in text
        assert "200% of one core" in text and "100%" in text  # 2 of the fake host's 2 cores
        assert "4.00 GiB resident" in text and " 25%" in text  # of 16 GiB
        job.state = "done"
        app.screen.refresh_now()
        assert "no sweep running" in str(app.screen.query_one("#runner").render())


def test_the_keys_tables_in_the_docs_are_the_generated_ones():
    from pathlib import Path

    from tffnoise_tui.screens.help import help_markdown

    doc = (Path(__file__).parents[2] / "docs" / "tui.md").read_text()
    assert help_markdown(level="###").strip() in doc, "regenerate: python -m tffnoise_tui.screens.help"

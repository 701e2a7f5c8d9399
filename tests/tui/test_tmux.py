"""The real `tffnoise-tui` entry point in a real terminal (tmux, 80x24): keys in, screen text out."""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from .conftest import FIXTURES, build_store

pytestmark = [pytest.mark.timeout(90),
              pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")]
ROOT = Path(__file__).parents[2]


class Tmux:
    """One tmux server of its own running a command in an 80x24 pane; keys in, screen text out."""

    def __init__(self, command: list[str]):
        self.base = ["tmux", "-L", f"tffnoise-tui-test-{os.getpid()}-{uuid.uuid4().hex[:6]}", "-f", "/dev/null"]
        cmd = " ".join(shlex.quote(a) for a in command)
        subprocess.run(self.base + ["new-session", "-d", "-s", "t", "-x", "80", "-y", "24", "-c", str(ROOT),
                                    f"env TERM=xterm-256color {cmd}; sleep 30"], check=True)

    def screen(self) -> str:
        return subprocess.run(self.base + ["capture-pane", "-p", "-t", "t"], capture_output=True, text=True).stdout

    def keys(self, *keys: str) -> None:
        subprocess.run(self.base + ["send-keys", "-t", "t", *keys], check=True)

    def wait_for(self, *texts: str, timeout: float = 30.0) -> str:
        """The screen once every text is on it (the header can be painted a frame after the body)."""
        end = time.time() + timeout
        while time.time() < end:
            s = self.screen()
            if all(t in s for t in texts):
                return s
            time.sleep(0.2)
        raise AssertionError(f"{texts!r} not on screen:\n{self.screen()}")

    def command(self) -> str:
        return subprocess.run(self.base + ["list-panes", "-t", "t", "-F", "#{pane_current_command}"],
                              capture_output=True, text=True).stdout.strip()

    def quit_and_check(self) -> None:
        self.keys("q")
        end = time.time() + 10
        while time.time() < end and self.command() != "sleep":  # exited: the pane runs the trailing sleep
            time.sleep(0.2)
        assert self.command() == "sleep"

    def close(self) -> None:
        subprocess.run(self.base + ["kill-server"], capture_output=True)


def _entry() -> list[str]:
    script = Path(sys.executable).parent / "tffnoise-tui"   # the installed console script when present
    return [str(script)] if script.exists() else [sys.executable, "-m", "tffnoise_tui.app"]


def test_tui_in_tmux(tmp_path):
    store = tmp_path / "store"
    build_store(store)
    t = Tmux([*_entry(), "--out", str(store), "--recipes", str(FIXTURES / "recipes")])
    try:
        s = t.wait_for("ctrl+s save", "Configure", "quick.toml")  # the configure screen validated the recipe
        assert "Configure" in s and "quick.toml" in s
        assert len(s.splitlines()) <= 24 and max(len(line) for line in s.splitlines()) <= 80
        t.keys("?")
        t.wait_for("tffnoise-tui keys")
        t.keys("Escape")
        time.sleep(0.5)
        t.keys("F4")
        s = t.wait_for("PoS/PoA/SNR")
        assert "divergedr" in s or "r000aaaa" in s
        t.keys("F5")
        t.wait_for("no NVIDIA GPU (NVML:")
        t.quit_and_check()
    finally:
        t.close()


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_launch_monitor_finish_in_tmux(tmp_path):
    """The whole loop in a real terminal: launch the quick start (tiny) with ctrl+r, the Monitor follows it
    to the end, and the log pane shows the runner's last line."""
    text = (ROOT / "recipes" / "quickstart.toml").read_text()
    for pattern, value in ((r"^repeats = \d+$", "repeats = 1"), (r"^examples_per_client = \d+$",
                           "examples_per_client = 20"), (r"^rounds = \d+$", "rounds = 2"),
                           (r'^out = ".*"$', f'out = "{tmp_path / "qs"}"')):
        text, n = re.subn(pattern, value, text, count=1, flags=re.M)
        assert n == 1, pattern
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "tiny.toml").write_text(text)
    t = Tmux([*_entry(), str(tmp_path / "recipes" / "tiny.toml"), "--recipes", str(tmp_path / "recipes")])
    try:
        t.wait_for("Configure", "tiny.toml", "Launch")
        t.keys("C-r")
        t.wait_for("Monitor")
        # the runner's last line (after "sweep finished" and the per-setting summary) is in the log pane
        s = t.wait_for("next: tffnoise report", timeout=200)
        assert "done" in s and "runs 2/2" in s and "100%" in s, s
        logs = [p.read_text() for p in (tmp_path / "qs").rglob("*.log")]
        finished = [json.loads(line) for text in logs for line in text.splitlines()
                    if line.startswith("{") and '"sweep_finished"' in line]
        assert finished and finished[-1]["status"]["failed"] == 0, logs
        t.quit_and_check()
    finally:
        t.close()

"""The real `tffnoise-tui` entry point in a real terminal (tmux, 80x24): keys in, screen text out."""
from __future__ import annotations

import os
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


def test_tui_in_tmux(tmp_path):
    store = tmp_path / "store"
    build_store(store)
    sock = f"tffnoise-tui-test-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    tmux = ["tmux", "-L", sock, "-f", "/dev/null"]
    script = Path(sys.executable).parent / "tffnoise-tui"   # the installed console script when present
    entry = [str(script)] if script.exists() else [sys.executable, "-m", "tffnoise_tui.app"]
    cmd = " ".join(shlex.quote(a) for a in [*entry, "--out", str(store), "--recipes", str(FIXTURES / "recipes")])
    subprocess.run(tmux + ["new-session", "-d", "-s", "t", "-x", "80", "-y", "24", "-c", str(ROOT),
                           f"env TERM=xterm-256color {cmd}; sleep 30"], check=True)

    def screen() -> str:
        return subprocess.run(tmux + ["capture-pane", "-p", "-t", "t"], capture_output=True, text=True).stdout

    def wait_for(*texts: str, timeout: float = 30.0) -> str:
        """The screen once every text is on it (the header can be painted a frame after the body)."""
        end = time.time() + timeout
        while time.time() < end:
            s = screen()
            if all(t in s for t in texts):
                return s
            time.sleep(0.2)
        raise AssertionError(f"{texts!r} not on screen:\n{screen()}")

    try:
        s = wait_for("ctrl+s save", "Configure", "quick.toml")  # the configure screen validated the recipe
        assert "Configure" in s and "quick.toml" in s
        assert len(s.splitlines()) <= 24 and max(len(line) for line in s.splitlines()) <= 80
        subprocess.run(tmux + ["send-keys", "-t", "t", "?"], check=True)
        wait_for("tffnoise-tui keys")
        subprocess.run(tmux + ["send-keys", "-t", "t", "Escape"], check=True)
        time.sleep(0.5)
        subprocess.run(tmux + ["send-keys", "-t", "t", "F4"], check=True)
        s = wait_for("PoS/PoA/SNR")
        assert "divergedr" in s or "r000aaaa" in s
        subprocess.run(tmux + ["send-keys", "-t", "t", "F5"], check=True)
        wait_for("no NVIDIA GPU (NVML:")
        subprocess.run(tmux + ["send-keys", "-t", "t", "q"], check=True)
        end = time.time() + 10
        while time.time() < end:  # the TUI exited: the pane now runs the trailing `sleep`
            cur = subprocess.run(tmux + ["list-panes", "-t", "t", "-F", "#{pane_current_command}"],
                                 capture_output=True, text=True).stdout.strip()
            if cur == "sleep":
                break
            time.sleep(0.2)
        assert cur == "sleep"
    finally:
        subprocess.run(tmux + ["kill-server"], capture_output=True)

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUICK = str(ROOT / "recipes" / "quickstart.toml")


def cli(*args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "tffnoise", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


@pytest.fixture
def dead_pid():
    """The pid of a process that has exited (reaped, so it cannot be alive)."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid

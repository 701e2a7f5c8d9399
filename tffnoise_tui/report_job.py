"""`tffnoise report DIR` as a subprocess of the TUI: the report needs numpy, scipy and matplotlib, which the
TUI process never loads for it (nor TensorFlow, which `tffnoise report` does not import either)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def report_command(root: Path) -> list[str]:
    return [sys.executable, "-m", "tffnoise", "report", str(root)]


def run_report(argv: list[str], on_line) -> int:
    """Run it, handing each output line to `on_line` as it comes; the exit status."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            text=True, errors="replace")
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip():
            on_line(line.rstrip())
    return proc.wait()


def summary_path(root: Path) -> Path:
    return Path(root) / "report" / "summary.md"

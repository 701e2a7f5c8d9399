"""How many CPU cores this process may really use: the scheduler affinity, capped by a cgroup CPU quota
(a container started with `--cpus=2` on a 64-core host sees 64 cores in its affinity mask, and one
thread per visible core would then fight over two)."""
from __future__ import annotations

import math
import os
from pathlib import Path


def _quota(root: Path) -> float | None:
    """CPUs allowed by the cgroup v2 (`cpu.max`) or v1 (`cpu.cfs_quota_us` / `cpu.cfs_period_us`) quota."""
    try:
        text = (root / "cpu.max").read_text().split()
        if text and text[0] != "max":
            return int(text[0]) / int(text[1])
    except (OSError, ValueError, IndexError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        if quota > 0 and period > 0:
            return quota / period
    except (OSError, ValueError):
        pass
    return None


def usable_cores(cgroup_root: Path = Path("/sys/fs/cgroup")) -> int:
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = _quota(cgroup_root)
    if quota is not None:
        n = min(n, max(1, math.floor(quota)))
    return max(1, n)

"""What a run needs to be reproduced months later: versions, platform, devices, git commit."""
from __future__ import annotations

import platform
import resource
import subprocess
import sys
from importlib import metadata
from pathlib import Path

PACKAGES = ("tffnoise", "tensorflow", "tensorflow-federated", "tensorflow-privacy", "numpy", "keras",
            "dp-accounting", "scikit-learn")


def versions() -> dict:
    out = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit(cwd: str | Path | None = None) -> dict | None:
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5)
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=5)
        return {"commit": sha.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return None


def devices() -> list[str]:
    """TensorFlow's visible devices (only called in the runner, which has TF loaded anyway)."""
    try:
        import tensorflow as tf

        return [f"{d.device_type}:{d.name}" for d in tf.config.list_physical_devices()]
    except Exception:  # pragma: no cover - TF missing is not fatal for provenance
        return []


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def collect() -> dict:
    return {"versions": versions(), "platform": platform.platform(), "machine": platform.machine(),
            "processor_count": __import__("os").cpu_count(), "devices": devices(), "git": git_commit(Path.cwd()),
            "argv": sys.argv}

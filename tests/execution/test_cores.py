"""The core count the stacked engine's thread groups use honours a container's CPU quota."""
import os

from tffnoise.execution.cores import usable_cores


def _affinity():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def test_no_quota_means_the_affinity_mask(tmp_path):
    assert usable_cores(tmp_path) == _affinity()
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert usable_cores(tmp_path) == _affinity()


def test_cgroup_v2_quota_caps_the_count(tmp_path):
    (tmp_path / "cpu.max").write_text("50000 100000\n")  # half a CPU: still one
    assert usable_cores(tmp_path) == 1
    (tmp_path / "cpu.max").write_text(f"{100000 * (_affinity() + 8)} 100000\n")  # above the mask: the mask
    assert usable_cores(tmp_path) == _affinity()


def test_cgroup_v1_quota_caps_the_count(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert usable_cores(tmp_path) == 1
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert usable_cores(tmp_path) == _affinity()

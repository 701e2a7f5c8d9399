import psutil
import pytest

RAY_NAMES = ("raylet", "gcs_server", "ray::", "default_worker", "dashboard", "log_monitor", "runtime_env")


def ray_processes(root: psutil.Process) -> list:
    out = []
    for p in root.children(recursive=True):
        try:
            text = p.name() + " " + " ".join(p.cmdline())
        except psutil.Error:
            continue
        if any(n in text for n in RAY_NAMES) or "/ray/" in text:
            out.append(p)
    return out


def assert_all_ended(procs, timeout=20.0) -> None:
    """Every process the test saw Ray start is gone (not just asked to stop)."""
    gone, alive = psutil.wait_procs(procs, timeout=timeout)
    left = []
    for p in alive:
        try:
            left.append(f"{p.pid} {p.name()}")
        except psutil.Error:
            pass
    assert not left, f"Ray processes left running: {left}"


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray instance started the way `tffnoise run --ray` starts one (no address)."""
    ray = pytest.importorskip("ray")
    from tffnoise.config.schema import Execution
    from tffnoise.distributed.cluster import session

    with session(Execution(backend="ray")):
        started = ray_processes(psutil.Process())
        yield ray
    assert_all_ended(started)

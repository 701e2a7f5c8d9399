"""Probe the machine: NVIDIA GPUs through NVML (pynvml), CPU and RAM through psutil. Never raises."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Gpu:
    index: int
    name: str
    util: float | None
    mem_used_mb: float | None
    mem_total_mb: float | None
    temp_c: float | None


@dataclass
class DeviceReport:
    gpus: list[Gpu] = field(default_factory=list)
    nvml_error: str | None = None
    driver: str | None = None
    cpu_percent: float | None = None
    cpu_count: int | None = None
    ram_used_mb: float | None = None
    ram_total_mb: float | None = None
    load: tuple | None = None

    def gpu_line(self) -> str:
        if self.gpus:
            return f"{len(self.gpus)} NVIDIA GPU(s), driver {self.driver or '?'}"
        return f"no NVIDIA GPU (NVML: {self.nvml_error or 'no devices'})"


def _s(x) -> str:
    return x.decode() if isinstance(x, bytes) else str(x)


def probe_gpus() -> tuple[list[Gpu], str | None, str | None]:
    try:
        import pynvml
    except Exception as exc:  # nvidia-ml-py not installed
        return [], f"pynvml unavailable: {exc}", None
    try:
        pynvml.nvmlInit()
    except Exception as exc:
        return [], _s(exc) or type(exc).__name__, None
    gpus: list[Gpu] = []
    try:
        try:
            driver = _s(pynvml.nvmlSystemGetDriverVersion())
        except Exception:
            driver = None
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = _s(pynvml.nvmlDeviceGetName(h))
            util = mem_used = mem_total = temp = None
            try:
                util = float(pynvml.nvmlDeviceGetUtilizationRates(h).gpu)
            except Exception:
                pass
            try:
                m = pynvml.nvmlDeviceGetMemoryInfo(h)
                mem_used, mem_total = m.used / 2**20, m.total / 2**20
            except Exception:
                pass
            try:
                temp = float(pynvml.nvmlDeviceGetTemperature(h, pynvml.NVML_TEMPERATURE_GPU))
            except Exception:
                pass
            gpus.append(Gpu(i, name, util, mem_used, mem_total, temp))
        return gpus, None if gpus else "no devices", driver
    except Exception as exc:
        return gpus, _s(exc) or type(exc).__name__, None
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass


def probe() -> DeviceReport:
    gpus, err, driver = probe_gpus()
    rep = DeviceReport(gpus=gpus, nvml_error=err, driver=driver)
    try:
        import os

        import psutil

        rep.cpu_percent = psutil.cpu_percent(interval=None)
        rep.cpu_count = psutil.cpu_count()
        vm = psutil.virtual_memory()
        rep.ram_used_mb, rep.ram_total_mb = (vm.total - vm.available) / 2**20, vm.total / 2**20
        rep.load = os.getloadavg()
    except Exception:
        pass
    return rep


@dataclass
class ProcStat:
    """The runner process and its children (TFF's worker_binary) together."""

    pid: int
    cpu_percent: float  # of one core (psutil's convention: 200 = two cores busy)
    rss_mb: float
    processes: int


class ProcessProbe:
    """CPU and memory of one process tree by psutil. psutil measures CPU between two calls, so the
    `Process` objects are kept from one probe to the next (the first probe of a pid reads 0 %)."""

    def __init__(self, psutil_module=None):
        self._psutil = psutil_module
        self._procs: dict[int, object] = {}

    def _lib(self):
        if self._psutil is None:
            import psutil

            self._psutil = psutil
        return self._psutil

    def _proc(self, pid: int):
        if pid not in self._procs:
            self._procs[pid] = self._lib().Process(pid)
        return self._procs[pid]

    def __call__(self, pid: int | None) -> ProcStat | None:
        """None when there is no pid, the process is gone or psutil may not read it."""
        if not pid:
            return None
        try:
            lib = self._lib()
            root = self._proc(int(pid))
            tree = [root]
            try:
                tree += list(root.children(recursive=True))
            except Exception:
                pass
            cpu = rss = 0.0
            alive = 0
            for p in tree:
                p = self._proc(p.pid) if p is not root else p  # the kept object: its CPU baseline
                try:
                    cpu += p.cpu_percent(interval=None)
                    rss += p.memory_info().rss / 2**20
                    alive += 1
                except (lib.NoSuchProcess, lib.AccessDenied, lib.ZombieProcess):
                    self._procs.pop(p.pid, None)
            if not alive:
                return None
            return ProcStat(int(pid), cpu, rss, alive)
        except Exception:  # no psutil, no such process, no permission
            self._procs.pop(int(pid), None)
            return None


def cluster_state(root) -> dict | None:
    """The Ray cluster of the sweep writing `root` now (OUT/cluster.json, written by its driver), or None.
    Read from the store so the TUI never imports Ray."""
    try:
        from tffnoise.distributed.status import read

        return read(root)
    except Exception:  # a damaged or foreign file never breaks the screen
        return None

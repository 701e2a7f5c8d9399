"""This machine's limits, measured in the benchmark's own process: sustained float32 matmul rate and
memory bandwidth. They are the denominators of every row's "fraction of limit" (benchmarks/workmodel.py).

- FLOP limit: C = A·B for n × n float32 matrices (2n³ FLOPs per product), by TensorFlow (Eigen, every
  intra-op thread) and by NumPy (its BLAS, every core); the better of the two, each timed over repeated
  products for at least `min_s` after one warm-up product. It is what dense float32 work can reach here,
  not the vendor's peak: a row at fraction 1 does as well as a large, cache-blocked matmul.
- Bandwidth limit: STREAM's Copy (b ← a, 2 bytes moved per byte copied) and Add (c ← a + b, 3) on
  arrays several times the last-level cache, split over one thread per core (NumPy releases the GIL in
  both); the best of single-threaded and threaded runs. Write-allocate traffic is not counted (as STREAM).
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def last_level_cache_bytes(default: int = 32 * 2**20) -> int:
    """The largest CPU cache this machine reports (sysfs), or `default` where it does not say."""
    sizes = []
    base = "/sys/devices/system/cpu/cpu0/cache"
    for entry in (os.listdir(base) if os.path.isdir(base) else []):
        try:
            text = open(os.path.join(base, entry, "size")).read().strip()
        except OSError:
            continue
        units = {"K": 2**10, "M": 2**20, "G": 2**30}
        sizes.append(int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text))
    return max(sizes) if sizes else default


def _rate(fn, work: float, min_s: float) -> float:
    """work per second of fn, the best of repeated timings (at least min_s in all, after a warm-up)."""
    fn()
    best, spent = 0.0, 0.0
    while spent < min_s:
        t = time.perf_counter()
        fn()
        dt = time.perf_counter() - t
        spent += dt
        best = max(best, work / dt)
    return best


def matmul_gflops(n: int, min_s: float) -> dict:
    import tensorflow as tf

    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    ta, tb = tf.constant(a), tf.constant(b)
    mm = tf.function(lambda x, y: tf.matmul(x, y))
    flops = 2.0 * n ** 3
    out = {"matmul_n": n,
           "tf_gflops": _rate(lambda: mm(ta, tb).numpy(), flops, min_s) / 1e9,
           "numpy_gflops": _rate(lambda: a @ b, flops, min_s) / 1e9}
    out["gflops"] = max(out["tf_gflops"], out["numpy_gflops"])
    return out


def bandwidth_gbs(nbytes: int, min_s: float, threads: int | None = None) -> dict:
    threads = threads or os.cpu_count() or 1
    n = nbytes // 4
    a = np.ones(n, np.float32)
    b, c = np.empty_like(a), np.empty_like(a)
    parts = [slice(i * n // threads, (i + 1) * n // threads) for i in range(threads)]
    pool = ThreadPoolExecutor(threads)

    def threaded(kernel):
        return lambda: list(pool.map(kernel, parts))
    kernels = {"copy": (lambda s=slice(None): np.copyto(b[s], a[s]), 2),
               "add": (lambda s=slice(None): np.add(a[s], b[s], out=c[s]), 3)}
    out = {"array_mib": nbytes / 2**20, "threads": threads}
    try:
        for name, (k, moved) in kernels.items():
            out[f"{name}_gbs"] = _rate(k, moved * nbytes, min_s) / 1e9
            out[f"{name}_threaded_gbs"] = _rate(threaded(k), moved * nbytes, min_s) / 1e9
    finally:
        pool.shutdown()
    out["gbs"] = max(v for key, v in out.items() if key.endswith("_gbs"))
    return out


def measure(quick: bool) -> dict:
    """{"gflops", "gbs", ...}: quick sizes fit in cache and mean nothing (the smoke test runs them)."""
    llc = last_level_cache_bytes()
    n, nbytes, min_s = (256, 8 * 2**20, 0.05) if quick else (2048, max(256 * 2**20, 8 * llc), 1.0)
    return {**matmul_gflops(n, min_s), **bandwidth_gbs(nbytes, min_s), "llc_bytes": llc}


def table(lim: dict) -> str:
    return "\n".join([
        "| limit | measured | how |", "|---|---|---|",
        f"| float32 matmul | {lim['gflops']:.1f} GFLOP/s | best of TF ({lim['tf_gflops']:.1f}) and NumPy "
        f"({lim['numpy_gflops']:.1f}), {lim['matmul_n']}² × {lim['matmul_n']}² |",
        f"| memory bandwidth | {lim['gbs']:.1f} GB/s | best of STREAM Copy ({lim['copy_gbs']:.1f}; "
        f"{lim['threads']} threads {lim['copy_threaded_gbs']:.1f}) "
        f"and Add ({lim['add_gbs']:.1f}; {lim['threads']} threads {lim['add_threaded_gbs']:.1f}), {lim['array_mib']:.0f} MiB arrays |",
        f"| machine balance | {lim['gflops'] / lim['gbs']:.1f} FLOP/byte | a row above it is FLOP bound, below "
        f"it bandwidth bound (when its bytes come from memory, not cache: LLC {lim['llc_bytes'] / 2**20:.0f} MiB) |"])

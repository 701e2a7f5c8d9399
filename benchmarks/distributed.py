"""Throughput of federated rounds on the local context and on 1, 2 and 3 loopback workers.

Each round maps a fixed amount of TF work over 12 clients (a chain of 128x128 matmuls per
client) and sums the results. Timings are the mean of several calls after one warm-up call
(the warm-up includes compilation and executor setup). Loopback workers share this machine's
cores, so this measures the splitting overhead and the use of local cores, not a cluster.

    uv run python benchmarks/distributed.py [--calls 5] [--steps 400] [--workers 1 2 3]
"""

import argparse
import os
import platform
import statistics
import time

from tffnoise.tflog import quiet_tensorflow  # noqa: E402

quiet_tensorflow()

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_federated as tff  # noqa: E402

from tffnoise import execution  # noqa: E402

CLIENTS = 12


def build(steps: int):
    @tff.tensorflow.computation(np.float32)
    def client_work(x):
        m = tf.fill([128, 128], x / 1000.0)
        m = tf.while_loop(lambda i, a: i < steps, lambda i, a: (i + 1, tf.tanh(tf.matmul(a, m))), (0, m))[1]
        return tf.reduce_sum(m)

    @tff.federated_computation(tff.FederatedType(np.float32, tff.CLIENTS))
    def round_fn(xs):
        return tff.federated_sum(tff.federated_map(client_work, xs))

    return round_fn


def time_calls(fn, data, calls: int) -> tuple[float, float]:
    fn(data)  # warm-up: compilation, executor creation
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        result = fn(data)
        times.append(time.perf_counter() - t0)
    return statistics.mean(times), float(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--steps", type=int, default=400, help="matmuls per client per round")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()

    round_fn = build(args.steps)
    data = [float(i + 1) for i in range(CLIENTS)]
    rows = []
    execution.install_local_context()
    mean, reference = time_calls(round_fn, data, args.calls)
    rows.append(("local context", mean, reference))
    for n in args.workers:
        workers = execution.start_local_workers(n)
        execution.install_remote_context(workers)
        mean, result = time_calls(round_fn, data, args.calls)
        rows.append((f"{n} loopback worker{'s' if n > 1 else ''}", mean, result))
        execution.stop_local_workers()
    execution.shutdown()

    one = next((m for name, m, _ in rows if name.startswith("1 ")), rows[0][1])
    print(f"{CLIENTS} clients x {args.steps} matmuls (128x128) per round, mean of {args.calls} calls after 1 warm-up")
    print(f"host: {platform.machine()}, {os.cpu_count()} visible cores")
    print()
    print("| execution | s / round | rounds / s | clients / s | vs 1 worker | result matches local |")
    print("|---|---:|---:|---:|---:|---|")
    for name, mean, result in rows:
        ok = "yes" if abs(result - reference) <= 1e-5 * max(1.0, abs(reference)) else f"NO ({result})"
        print(f"| {name} | {mean:.3f} | {1 / mean:.2f} | {CLIENTS / mean:.1f} | {one / mean:.2f}x | {ok} |")


if __name__ == "__main__":
    main()

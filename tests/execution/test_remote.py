"""Remote execution on loopback workers: same results as local, and faults that name the worker."""

import os
import signal
import threading
import time

import numpy as np
import pytest

from tffnoise.execution import remote

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

tff = pytest.importorskip("tensorflow_federated")
tf = pytest.importorskip("tensorflow")
from tffnoise import execution  # noqa: E402

CLIENTS = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
VECTORS = [np.arange(4, dtype=np.float32) * (i + 1) - 0.5 for i in range(6)]


@tff.tensorflow.computation(np.float32)
def _square(x):
    return x * x


@tff.federated_computation(tff.FederatedType(np.float32, tff.CLIENTS))
def sum_of_squares(xs):
    return tff.federated_sum(tff.federated_map(_square, xs))


@tff.tensorflow.computation(np.float32, tff.TensorType(np.float32, [4]))
def _affine(scale, v):
    return scale * v + 1.0


@tff.federated_computation(
    tff.FederatedType(np.float32, tff.SERVER), tff.FederatedType(tff.TensorType(np.float32, [4]), tff.CLIENTS)
)
def broadcast_mean(scale, vs):
    """Broadcast, client work and a mean: the shape of one training round."""
    return tff.federated_mean(tff.federated_map(_affine, (tff.federated_broadcast(scale), vs)))


@tff.tensorflow.computation(np.float32)
def _busy(x):
    """Many seconds of CPU per client, so a worker can be killed mid-call (killed long before the end)."""
    m = tf.fill([96, 96], x / 1000.0)
    m = tf.while_loop(lambda i, a: i < 100000, lambda i, a: (i + 1, tf.tanh(tf.matmul(a, m))), (0, m))[1]
    return tf.reduce_sum(m)


@tff.federated_computation(tff.FederatedType(np.float32, tff.CLIENTS))
def busy_sum(xs):
    return tff.federated_sum(tff.federated_map(_busy, xs))


@pytest.fixture(scope="module")
def local_results():
    execution.install_local_context()
    return sum_of_squares(CLIENTS), broadcast_mean(2.0, VECTORS)


@pytest.fixture
def fresh_workers():
    started = []

    def start(n):
        started.extend(execution.start_local_workers(n))
        return started[-n:]

    yield start
    for address in started:
        proc = remote.local_worker_process(address)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
    execution.stop_local_workers()


@pytest.mark.parametrize("n", [2, 3])
def test_remote_matches_local(n, local_results, fresh_workers):
    workers = fresh_workers(n)
    execution.install_remote_context(workers, connect_timeout_s=10)
    try:
        assert sum_of_squares(CLIENTS) == pytest.approx(91.0, abs=1e-5)
        assert sum_of_squares(CLIENTS) == pytest.approx(local_results[0], abs=1e-5)
        np.testing.assert_allclose(broadcast_mean(2.0, VECTORS), local_results[1], atol=1e-5)
    finally:
        execution.install_local_context()


def test_worker_down_at_start_is_named(fresh_workers):
    alive = fresh_workers(1)[0]
    down = f"127.0.0.1:{remote.ports.free_port()}"
    t0 = time.monotonic()
    with pytest.raises(execution.WorkerUnavailableError, match=rf"^execution\.workers: worker {down} is not reachable"):
        execution.install_remote_context([alive, down], connect_timeout_s=1.0)
    assert time.monotonic() - t0 < 5


def test_worker_killed_mid_call_is_named(fresh_workers):
    workers = fresh_workers(2)
    execution.install_remote_context(workers, call_timeout_s=60)
    try:
        victim = remote.local_worker_process(workers[1])
        threading.Timer(1.5, victim.kill).start()
        t0 = time.monotonic()
        with pytest.raises(execution.WorkerLostError, match=rf"worker {workers[1]} stopped answering"):
            busy_sum(CLIENTS)
        elapsed = time.monotonic() - t0
        assert 1.5 <= elapsed < 30, "the call should still run at the kill and fail soon after it"
    finally:
        execution.install_local_context()


def test_worker_killed_before_call_is_named(fresh_workers):
    workers = fresh_workers(2)
    execution.install_remote_context(workers, call_timeout_s=60)
    try:
        assert sum_of_squares(CLIENTS) == pytest.approx(91.0)
        remote.local_worker_process(workers[0]).kill()
        t0 = time.monotonic()
        with pytest.raises(execution.WorkerLostError, match=rf"worker {workers[0]} "):
            sum_of_squares(CLIENTS)
        assert time.monotonic() - t0 < 30
    finally:
        execution.install_local_context()


def test_hung_worker_hits_the_deadline_and_is_named(fresh_workers):
    """A stopped (not dead) worker keeps its connection open: only the deadline can end the call."""
    workers = fresh_workers(2)
    execution.install_remote_context(workers, call_timeout_s=3)
    try:
        assert sum_of_squares(CLIENTS) == pytest.approx(91.0)
        os.kill(remote.local_worker_process(workers[1]).pid, signal.SIGSTOP)
        t0 = time.monotonic()
        with pytest.raises(execution.WorkerLostError, match=rf"worker {workers[1]} "):
            sum_of_squares(CLIENTS)
        assert time.monotonic() - t0 < 3 + 2 + 3
    finally:
        execution.install_local_context()

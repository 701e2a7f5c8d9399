"""Running federated computations across several `tffnoise worker` processes.

TFF's mergeable-computation context splits the clients of a computation across one async
context per worker and merges the partial aggregates. Two things in TFF would make a dead worker
hang a run forever, so we change them:

* TFF marks gRPC UNAVAILABLE (what a call to a killed worker returns) as retryable and retries
  it without limit. Our stub turns UNAVAILABLE into `WorkerLostError` naming the worker, which
  TFF does not retry, so the call fails at once.
* Anything else that stalls (a host that vanished without closing its connections, a retry loop
  on another retryable code) is cut by a per-call deadline, `call_timeout_s`; on expiry we probe
  every worker and name the dead ones, or say that the deadline passed.
"""

from __future__ import annotations

import concurrent.futures
import threading
from typing import Any, Callable, Sequence

from tffnoise.errors import UserError
from tffnoise.execution import hygiene, local, ports

_PROBE_TIMEOUT_S = 2.0
_lock = threading.Lock()
_local_workers: list[tuple[str, Any]] = []  # (address, Popen)
_remote_context = None


class WorkerUnavailableError(UserError):
    """A worker cannot be reached; the message names it."""

    def __init__(self, worker: str, detail: str):
        self.worker = worker
        super().__init__(f"execution.workers: worker {worker} {detail}")


class WorkerLostError(WorkerUnavailableError):
    """A worker stopped answering during a computation."""


class CallTimeoutError(UserError):
    """A computation took longer than `execution.call_timeout_s` while every worker answered."""


def parse_workers(workers: object) -> list[tuple[str, int]]:
    """Validate `execution.workers`: a non-empty list of distinct "host:port" strings."""
    allowed = 'a non-empty list of "host:port" strings'
    if isinstance(workers, (str, bytes)) or not isinstance(workers, Sequence) or not workers:
        raise UserError(f"execution.workers: {workers!r} is not allowed; expected {allowed}")
    parsed = [ports.parse_address(w, "execution.workers") for w in workers]
    seen = set()
    for text, addr in zip(workers, parsed):
        if addr in seen:
            raise UserError(f"execution.workers: {text!r} is listed twice; each worker must appear once")
        seen.add(addr)
    return parsed


def _check_positive(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise UserError(f"{field}: {value!r} is not allowed; expected a number of seconds > 0")
    return float(value)


def probe_worker(address: str, timeout_s: float) -> bool:
    """True if a gRPC channel to `address` becomes ready within `timeout_s`."""
    import grpc

    host, port = ports.parse_address(address)
    if ports.refused(host, port, min(timeout_s, 2.0)):  # nothing listens: say so now, not after timeout_s
        return False
    channel = grpc.insecure_channel(ports.grpc_target(host, port))
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout_s)
        return True
    except grpc.FutureTimeoutError:
        return False
    finally:
        channel.close()


def dead_workers(workers: Sequence[str], timeout_s: float = _PROBE_TIMEOUT_S) -> list[str]:
    """The workers that do not answer within `timeout_s`, probed in parallel."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(workers))) as pool:
        alive = list(pool.map(lambda w: probe_worker(w, timeout_s), workers))
    return [w for w, ok in zip(workers, alive) if not ok]


def check_workers(workers: Sequence[str], connect_timeout_s: float) -> None:
    """WorkerUnavailableError naming the first worker not reachable within `connect_timeout_s`."""
    dead = dead_workers(list(workers), connect_timeout_s)
    if dead:
        raise WorkerUnavailableError(
            dead[0],
            f"is not reachable within execution.connect_timeout_s={connect_timeout_s:g}s; "
            "start it with `tffnoise worker --port PORT` on that host and check the address",
        )


def call_with_timeout(fn: Callable, *args: Any, timeout_s: float, workers: Sequence[str], **kwargs: Any) -> Any:
    """Run `fn(*args, **kwargs)` with a deadline; on expiry name the dead workers.

    The call runs in a daemon thread. If it does not finish within `timeout_s`, the workers are
    probed: a dead one raises WorkerLostError naming it, otherwise CallTimeoutError. A call that
    timed out may still be running in its thread; treat the context as broken and end the run.
    """
    future: concurrent.futures.Future = concurrent.futures.Future()

    def target() -> None:
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as e:  # noqa: BLE001 - handed back to the caller
            future.set_exception(e)

    threading.Thread(target=target, name="tffnoise-call", daemon=True).start()
    try:
        return future.result(timeout=timeout_s)
    except concurrent.futures.TimeoutError:
        pass
    dead = dead_workers(list(workers))
    if dead:
        raise WorkerLostError(dead[0], "stopped answering during a computation; restart it or remove it from the list")
    raise CallTimeoutError(
        f"execution.call_timeout_s: a computation took more than {timeout_s:g}s while every worker "
        "answered; raise the limit or use fewer clients per round"
    )


def _named_stub(channel, address: str):
    """A TFF gRPC stub whose UNAVAILABLE errors become WorkerLostError(address), which TFF does not retry."""
    import grpc
    from tensorflow_federated.python.core.impl.executors import remote_executor_grpc_stub

    base = remote_executor_grpc_stub.RemoteExecutorGrpcStub

    def wrap(name):
        method = getattr(base, name)

        def call(self, request):
            try:
                return method(self, request)
            except grpc.RpcError as e:
                code = e.code() if hasattr(e, "code") else None
                if code == grpc.StatusCode.UNAVAILABLE:
                    raise WorkerLostError(
                        address, "stopped answering during a computation; restart it or remove it from the list"
                    ) from e
                raise

        call.__name__ = name
        return call

    names = ["get_executor", "create_value", "create_struct", "create_call", "create_selection", "compute",
             "dispose", "dispose_executor"]
    cls = type("NamedRemoteExecutorGrpcStub", (base,), {n: wrap(n) for n in names})
    return cls(channel)


def _worker_context(address: str):
    """One async TFF context talking to the worker at `address`."""
    import grpc

    host, port = ports.parse_address(address)
    channel = grpc.insecure_channel(ports.grpc_target(host, port), local.GRPC_CHANNEL_OPTIONS)
    stub = _named_stub(channel, address)
    return local.context_on_worker(lambda: stub, sync=False)


def _deadline_context(inner, workers: list[str], call_timeout_s: float):
    """Wrap a sync TFF context so every invocation goes through `call_with_timeout`."""
    from tensorflow_federated.python.core.impl.context_stack import context_base

    class DeadlineContext(context_base.SyncContext):
        def invoke(self, comp, arg):
            return call_with_timeout(inner.invoke, comp, arg, timeout_s=call_timeout_s, workers=workers)

    return DeadlineContext()


def install_remote_context(
    workers: list[str], *, connect_timeout_s: float = 10.0, call_timeout_s: float = 600.0
) -> None:
    """Make federated computations in this thread split their clients across `workers`.

    Checks every worker first (WorkerUnavailableError naming the first unreachable one). Every
    computation call then fails with WorkerLostError naming a worker that died, at once when the
    connection breaks and at the latest after `call_timeout_s`. TFF's context stack is per
    thread: call this in the thread that runs the computations.
    """
    global _remote_context
    parse_workers(workers)
    connect_timeout_s = _check_positive(connect_timeout_s, "execution.connect_timeout_s")
    call_timeout_s = _check_positive(call_timeout_s, "execution.call_timeout_s")
    workers = [w.strip() for w in workers]
    check_workers(workers, connect_timeout_s)

    from tensorflow_federated.python.core.backends.native import execution_contexts

    mergeable = execution_contexts.create_mergeable_comp_execution_context(
        [_worker_context(w) for w in workers]
    )
    _remote_context = _deadline_context(mergeable, workers, call_timeout_s)
    local.set_tff_context(_remote_context)


def start_local_workers(n: int, *, base_port: int | None = None, start_timeout_s: float = 60.0) -> list[str]:
    """Start `n` loopback worker_binary processes (tests, benchmarks); returns their addresses.

    Ports are `base_port, base_port+1, ...` when given (each checked free), else free ones. The
    processes die with this one (PDEATHSIG) and are stopped by `stop_local_workers()`.
    """
    binary = ports.worker_binary_path()
    started = []
    for i in range(n):
        if base_port is None:
            port = ports.free_port()
        else:
            port = ports.check_port_value(base_port + i, "base_port")
            ports.check_port_free(port)
        proc = hygiene.spawn([binary, f"--port={port}"])
        address = f"127.0.0.1:{port}"
        with _lock:
            _local_workers.append((address, proc))
        started.append((address, port, proc))
    for address, port, proc in started:
        if not ports.wait_until_accepting("127.0.0.1", port, start_timeout_s) or proc.poll() is not None:
            stop_local_workers()
            raise RuntimeError(f"local worker {address} did not start within {start_timeout_s:g}s")
    return [a for a, _, _ in started]


def local_worker_process(address: str):
    """The Popen of a worker started by `start_local_workers` (tests kill it to inject faults)."""
    with _lock:
        for a, proc in _local_workers:
            if a == address:
                return proc
    raise KeyError(address)


def stop_local_workers() -> None:
    """Stop every worker started by `start_local_workers`."""
    with _lock:
        procs = [p for _, p in _local_workers]
        _local_workers.clear()
    for proc in procs:
        hygiene.stop(proc)

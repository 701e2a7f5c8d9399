"""The local execution context: TFF's C++ runtime on this machine, in a process we own.

`import tensorflow_federated` installs a default context whose `worker_binary` is started lazily,
inherits our stdout/stderr and is never stopped: it survives us and blocks pipes. We install the
same kind of context (same compiler, same executor, same C++ worker) but start the worker through
`hygiene.spawn`, so it dies with us. Install it before the first computation runs, so TFF's own
worker is never started.
"""

from __future__ import annotations

import threading

from tffnoise.execution import hygiene, ports

# The gRPC options TFF's own local factory uses; large models travel as one message.
GRPC_MAX_MESSAGE_BYTES = 2 * 1000 * 1000 * 1000
GRPC_CHANNEL_OPTIONS = [
    ("grpc.max_message_length", GRPC_MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", GRPC_MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", GRPC_MAX_MESSAGE_BYTES),
]
_START_TIMEOUT_S = 60.0

_lock = threading.RLock()
_service: "_LocalService | None" = None
_context = None
_settings: dict | None = None


class _LocalService:
    """One loopback worker_binary and its stub; restarted when it is found dead."""

    def __init__(self, max_concurrent_computation_calls: int) -> None:
        self._max_calls = max_concurrent_computation_calls
        self._proc = None
        self._stub = None
        self._lock = threading.Lock()

    def _start(self) -> None:
        import grpc
        from tensorflow_federated.python.core.impl.executors import remote_executor_grpc_stub

        port = ports.free_port()
        self._proc = hygiene.spawn(
            [
                ports.worker_binary_path(),
                f"--port={port}",
                f"--max_concurrent_computation_calls={self._max_calls}",
            ]
        )
        if not ports.wait_until_accepting("127.0.0.1", port, _START_TIMEOUT_S):
            hygiene.stop(self._proc)
            raise RuntimeError(f"local TFF worker on 127.0.0.1:{port} did not start within {_START_TIMEOUT_S:.0f}s")
        channel = grpc.insecure_channel(f"127.0.0.1:{port}", GRPC_CHANNEL_OPTIONS)
        grpc.channel_ready_future(channel).result(timeout=_START_TIMEOUT_S)
        self._stub = remote_executor_grpc_stub.RemoteExecutorGrpcStub(channel)

    def stub(self):
        """The stub of a running worker, (re)starting it if needed."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._start()
            return self._stub

    def close(self) -> None:
        with self._lock:
            if self._proc is not None:
                hygiene.stop(self._proc)
            self._proc = None
            self._stub = None

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid


def context_on_worker(stub_fn, *, sync: bool = True):
    """A TFF execution context whose executor is the C++ worker behind `stub_fn()` (local or remote)."""
    from tensorflow_federated.python.core.backends.native import compiler
    from tensorflow_federated.python.core.environments.tensorflow_frontend import tensorflow_computation
    from tensorflow_federated.python.core.impl.execution_contexts import async_execution_context, sync_execution_context
    from tensorflow_federated.python.core.impl.executor_stacks import python_executor_stacks
    from tensorflow_federated.python.core.impl.executors import remote_executor
    from tensorflow_federated.python.core.impl.types import placements

    def stack_fn(cardinalities):
        # TFF also asks for an executor with no CLIENTS cardinality (e.g. server-only computations); the
        # worker answers "No cardinality provided for 'clients' placement", so default it to 0 as TFF's
        # local factory does.
        if cardinalities.get(placements.CLIENTS) is None:
            cardinalities[placements.CLIENTS] = 0
        ex = remote_executor.RemoteExecutor(stub_fn())
        ex.set_cardinalities(cardinalities)
        return ex

    cls = sync_execution_context.SyncExecutionContext if sync else async_execution_context.AsyncExecutionContext
    return cls(
        executor_fn=python_executor_stacks.ResourceManagingExecutorFactory(executor_stack_fn=stack_fn),
        compiler_fn=compiler.desugar_and_transform_to_native,
        transform_args=tensorflow_computation.transform_args,
        transform_result=tensorflow_computation.transform_result,
    )


def _build_context(service: _LocalService):
    return context_on_worker(service.stub, sync=True)


def set_tff_context(context) -> None:
    """Make `context` TFF's default in the calling thread (TFF's context stack is thread-local)."""
    from tensorflow_federated.python.core.impl.context_stack import context_stack_impl

    context_stack_impl.context_stack.set_default_context(context)


def install_local_context(*, max_concurrent_computation_calls: int = -1) -> None:
    """Make federated computations in this thread run on a local worker that dies with us.

    Idempotent: a second call with the same settings reuses the worker (and installs the context
    in the calling thread, which matters because TFF's context stack is per thread). The worker
    is started here, from the caller, not lazily from TFF's event-loop thread.
    """
    global _service, _context, _settings
    settings = {"max_concurrent_computation_calls": int(max_concurrent_computation_calls)}
    with _lock:
        hygiene.install_handlers()
        if _context is None or settings != _settings:
            if _service is not None:
                _service.close()
            _service = _LocalService(settings["max_concurrent_computation_calls"])
            _service.stub()
            _context = _build_context(_service)
            _settings = settings
        set_tff_context(_context)


def local_worker_pid() -> int | None:
    """PID of the local worker, or None when none is running (for tests and diagnostics)."""
    return None if _service is None else _service.pid


def shutdown_local() -> None:
    """Stop the local worker and forget the context; a later install starts a fresh one."""
    global _service, _context, _settings
    with _lock:
        if _service is not None:
            _service.close()
        _service = _context = _settings = None

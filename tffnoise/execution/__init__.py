"""Where federated computations run: a local worker that dies with us, or several remote workers.

Import is light (no TensorFlow); TFF is imported only when a context is installed.

    from tffnoise import execution
    execution.install_local_context()          # or execution.install_remote_context([...])
    ...build and run TFF computations in this same thread...
    execution.shutdown()                        # also runs at exit and on SIGTERM
"""

from tffnoise.execution import hygiene
from tffnoise.execution.local import install_local_context
from tffnoise.execution.remote import (
    CallTimeoutError,
    WorkerLostError,
    WorkerUnavailableError,
    call_with_timeout,
    install_remote_context,
    start_local_workers,
    stop_local_workers,
)


def install_context(cfg) -> None:
    """The context a run's config asks for: its remote `execution.workers`, else a local worker that dies
    with this process (the TFF engine's registry entry calls this before any engine is built)."""
    e = cfg.execution
    if e.workers:
        install_remote_context(e.workers, connect_timeout_s=e.connect_timeout_s, call_timeout_s=e.call_timeout_s)
    else:
        install_local_context()


def shutdown() -> None:
    """Stop every process this package started (local worker, loopback workers). Idempotent."""
    from tffnoise.execution import local

    local.shutdown_local()
    stop_local_workers()
    hygiene.cleanup()


__all__ = [
    "CallTimeoutError",
    "WorkerLostError",
    "WorkerUnavailableError",
    "call_with_timeout",
    "install_context",
    "install_local_context",
    "install_remote_context",
    "shutdown",
    "start_local_workers",
    "stop_local_workers",
]

"""`tffnoise worker --port P`: serve TFF's executor on this host for a remote run.

The service is TFF's C++ `worker_binary`. It has no host flag and no authentication: it listens
on every interface, IPv4 and IPv6, in plaintext, so we say so at start. It also uses SO_REUSEPORT,
so a second worker on a busy port would start silently and share the traffic: we refuse a busy
port ourselves. No TensorFlow import here: the command starts in well under a second.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys

from tffnoise.errors import UserError
from tffnoise.execution import hygiene, ports

DEFAULT_GRPC_MAX_MESSAGE_MB = 2000


def register(subparsers) -> None:
    """Add the `worker` subcommand to the CLI's subparsers."""
    p = subparsers.add_parser(
        "worker",
        help="serve TFF computations for a remote run (plaintext, no authentication, every interface)",
        description=(
            "Run TFF's executor service on PORT so a run with [execution] workers = [\"host:PORT\"] can "
            "send it clients. It listens on every interface with no authentication: keep it private "
            "with a firewall or an SSH tunnel (see docs/distributed.md)."
        ),
    )
    p.add_argument("--port", type=int, required=True, help="TCP port to listen on (every interface)")
    p.add_argument(
        "--max-concurrent-calls",
        type=int,
        default=-1,
        help="most concurrent calls of one computation; <= 0 means no limit (default)",
    )
    p.add_argument(
        "--grpc-max-message-mb",
        type=int,
        default=DEFAULT_GRPC_MAX_MESSAGE_MB,
        help=f"largest gRPC message in megabytes (default {DEFAULT_GRPC_MAX_MESSAGE_MB})",
    )
    p.set_defaults(func=run)


def _warning(port: int) -> str:
    return (
        f"tffnoise worker: serving TFF on port {port} of EVERY interface (IPv4 and IPv6), "
        "plaintext gRPC, NO authentication: anyone who can reach this port can run code here.\n"
        f"  keep it private: block it with a host firewall (e.g. `ufw deny {port}`) and reach it through "
        f"an SSH tunnel from the training host: `ssh -N -L {port}:localhost:{port} THIS_HOST`,\n"
        f"  then use workers = [\"localhost:{port}\"]; or run it only on a private network.\n"
        "  stop with Ctrl-C or SIGTERM."
    )


def run(args: argparse.Namespace) -> int:
    """Check the port, warn, and run worker_binary in the foreground until SIGINT/SIGTERM."""
    port = ports.check_port_value(args.port, "--port")
    max_calls = args.max_concurrent_calls
    if not isinstance(max_calls, int):
        raise UserError(f"--max-concurrent-calls: {max_calls!r} is not allowed; expected an integer")
    mb = args.grpc_max_message_mb
    if isinstance(mb, bool) or not isinstance(mb, int) or not 1 <= mb <= 2047:
        raise UserError(f"--grpc-max-message-mb: {mb!r} is not allowed; expected 1..2047")
    ports.check_port_free(port)
    binary = ports.worker_binary_path()

    print(_warning(port), file=sys.stderr, flush=True)
    stopping = {"signal": None}
    child: list = []

    def forward(signum, frame):  # noqa: ANN001 - signal handler signature
        stopping["signal"] = signum
        for proc in child:
            try:
                proc.send_signal(signum)
            except OSError:
                pass

    # Handlers first: a child inherits an ignored signal (a `&` job or nohup ignores SIGINT) but not a
    # handled one, which exec resets to the default, so worker_binary stops on the signal we forward.
    hygiene.install_handlers()  # its SIGTERM cleanup first, so ours replaces it as before
    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        proc = hygiene.spawn(
            [
                binary,
                f"--port={port}",
                f"--max_concurrent_computation_calls={max_calls}",
                f"--grpc_max_message_length_megabytes={mb}",
            ],
            inherit_output=True,
        )
        child.append(proc)
        if stopping["signal"] is not None:  # a signal came while it was starting
            proc.send_signal(stopping["signal"])
    except BaseException:
        for s, h in previous.items():
            signal.signal(s, h)
        raise
    try:
        while True:
            try:
                code = proc.wait(timeout=1.0)
                break
            except subprocess.TimeoutExpired:
                continue
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        hygiene.stop(proc)
    if stopping["signal"] is not None:
        print(f"tffnoise worker: stopped ({signal.Signals(stopping['signal']).name}).", file=sys.stderr)
        return 0
    print(f"tffnoise worker: worker_binary exited with code {code}.", file=sys.stderr)
    return code if code > 0 else 1


def main(argv: list[str] | None = None) -> int:
    """`python -m tffnoise.execution.worker --port P`, for hosts without the CLI entry point."""
    parser = argparse.ArgumentParser(prog="tffnoise")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["worker", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.func(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code


if __name__ == "__main__":
    sys.exit(main())

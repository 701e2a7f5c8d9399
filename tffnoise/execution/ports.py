"""Port checks, worker addresses and the worker binary's path, with no TensorFlow import.

`worker_binary` listens on `[::]:PORT` with SO_REUSEPORT, so a second one on a busy port starts
without error and silently shares the traffic: we must check that a port is free ourselves.
"""

from __future__ import annotations

import errno
import importlib.util
import os
import socket
import time

from tffnoise.errors import UserError


def worker_binary_path() -> str:
    """Path of TFF's C++ executor service, found without importing tensorflow_federated (6-8 s)."""
    spec = importlib.util.find_spec("tensorflow_federated")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("tensorflow_federated is not installed; the worker binary comes with it")
    path = os.path.join(list(spec.submodule_search_locations)[0], "data", "worker_binary")
    if not os.path.isfile(path):
        raise UserError(f"worker binary not found at {path}; reinstall tensorflow-federated==0.87.0")
    return path


def check_port_value(port: object, field: str = "--port") -> int:
    """An int in 1..65535, else UserError naming `field`."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise UserError(f"{field}: {port!r} is not allowed; expected a port number 1..65535")
    return port


def _bind_probe(family: int, host: str, port: int) -> str | None:
    """Try a plain bind (no SO_REUSEPORT, so it fails if worker_binary holds the port)."""
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError:
        return None  # address family not supported on this host: nothing can listen there
    try:
        # SO_REUSEADDR: a socket left in TIME-WAIT by a killed worker does not hold the port (worker_binary
        # itself binds past it), but a listener still does, since we do not set SO_REUSEPORT
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        return None
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            return "in use"
        if e.errno == errno.EACCES:
            return "permission denied"
        if e.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
            return None
        return str(e)
    finally:
        sock.close()


def _connect_probe(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True if something accepts connections at host:port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout_s)
            return sock.connect_ex((host, port)) == 0
    except OSError:
        return False


def refused(host: str, port: int, timeout_s: float = 2.0) -> bool:
    """True if host:port answers with a refusal (nothing listens there) or the host name does not
    resolve: waiting longer cannot help. False if it accepts, or does not answer in time."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return False
    except (ConnectionRefusedError, socket.gaierror):
        return True
    except OSError:  # timeout, unreachable: maybe still starting, let the caller's wait decide
        return False


def port_problem(port: int) -> str | None:
    """Why `port` cannot be served on every interface (IPv4 and IPv6), or None if it is free."""
    for family, host in ((socket.AF_INET6, "::"), (socket.AF_INET, "0.0.0.0")):
        problem = _bind_probe(family, host, port)
        if problem:
            return problem
    if _connect_probe("127.0.0.1", port) or _connect_probe("::1", port):
        return "in use"
    return None


def check_port_free(port: int) -> None:
    """UserError with a one-line reason unless `port` is free on both IPv4 and IPv6."""
    problem = port_problem(port)
    if problem == "in use":
        raise UserError(
            f"port {port} is already in use (IPv4 or IPv6, maybe another worker); "
            "choose a free port with --port"
        )
    if problem == "permission denied":
        raise UserError(f"port {port} needs root privileges; choose a port 1024..65535 with --port")
    if problem:
        raise UserError(f"port {port} cannot be used ({problem}); choose another port with --port")


def free_port() -> int:
    """A port that is currently free on every interface (dual-stack when the host has IPv6)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("0.0.0.0", 0))
            port = sock.getsockname()[1]
        if port_problem(port) is None:
            return port
    raise RuntimeError("no free TCP port found after 50 tries")


def parse_address(text: object, field: str = "execution.workers") -> tuple[str, int]:
    """'host:port' or '[v6addr]:port' -> (host, port); UserError naming `field` otherwise."""
    allowed = 'a "host:port" string such as "10.0.0.5:8000" or "[::1]:8000"'
    if not isinstance(text, str) or not text.strip():
        raise UserError(f"{field}: {text!r} is not allowed; expected {allowed}")
    s = text.strip()
    if s.startswith("["):
        host, sep, rest = s[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
        ok = bool(sep and host and port_text)
    else:
        host, sep, port_text = s.rpartition(":")
        ok = bool(sep and host and ":" not in host)
    if not ok or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise UserError(f"{field}: {text!r} is not allowed; expected {allowed}")
    return host, int(port_text)


def grpc_target(host: str, port: int) -> str:
    """The gRPC target string for host:port, bracketing IPv6 literals."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def wait_until_accepting(host: str, port: int, timeout_s: float) -> bool:
    """Poll a TCP connect until it succeeds or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _connect_probe(host, port, timeout_s=0.2):
            return True
        time.sleep(0.05)
    return False

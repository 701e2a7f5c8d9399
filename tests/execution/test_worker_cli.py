"""Fast checks of `tffnoise worker` and address validation: no TensorFlow import."""

import argparse
import socket

import pytest

from tffnoise.errors import UserError
from tffnoise.execution import ports, remote, worker


def _args(port):
    parser = argparse.ArgumentParser()
    worker.register(parser.add_subparsers())
    return parser.parse_args(["worker", "--port", str(port)])


@pytest.fixture
def busy_port():
    """A port held the way worker_binary holds it: [::] dual-stack with SO_REUSEPORT."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind(("::", 0))
    sock.listen()
    yield sock.getsockname()[1]
    sock.close()


def test_busy_port_is_refused_in_process(busy_port):
    args = _args(busy_port)
    assert args.func is worker.run
    with pytest.raises(UserError, match=rf"^port {busy_port} is already in use") as info:
        worker.run(args)
    assert "\n" not in str(info.value)


def test_busy_port_exits_2_with_one_line(busy_port, capsys):
    assert worker.main(["--port", str(busy_port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: port {busy_port} is already in use")
    assert err.count("\n") == 1


def test_ipv4_only_listener_is_seen(busy_port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        assert ports.port_problem(sock.getsockname()[1]) == "in use"
    assert ports.port_problem(ports.free_port()) is None


@pytest.mark.parametrize("port", [0, 70000])
def test_bad_port_value(port):
    with pytest.raises(UserError, match="^--port: "):
        worker.run(_args(port))


@pytest.mark.parametrize(
    "workers", [[], "a:1", ["nohost"], ["h:0"], ["h:99999"], ["::1:80"], ["h:1", "h:1"], [5]]
)
def test_bad_workers_name_the_field(workers):
    with pytest.raises(UserError, match=r"^execution\.workers: "):
        remote.parse_workers(workers)


def test_good_workers():
    assert remote.parse_workers(["a.b:1", "[::1]:8000", " 10.0.0.5:65535 "]) == [
        ("a.b", 1), ("::1", 8000), ("10.0.0.5", 65535)
    ]

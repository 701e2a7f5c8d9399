"""Item 7 of issue 18: a killed worker restarts on its own port at once, a worker started with SIGINT
ignored still stops on SIGINT, and a refused connection fails without waiting out the timeout."""
import os
import signal
import socket
import subprocess
import sys

from tffnoise.execution import ports, remote


def _worker(port, **kw):
    return subprocess.Popen([sys.executable, "-m", "tffnoise", "worker", "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def _time_wait(port):
    """Leave a server-side socket of `port` in TIME-WAIT, as a killed worker's open connections do (its
    listener, like gRPC's, sets SO_REUSEADDR, which Linux asks of both sockets to bind past a TIME-WAIT)."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen()
    cli = socket.create_connection(("127.0.0.1", port))
    conn, _ = srv.accept()
    conn.close()  # the server closes first: its end of the connection waits out TIME-WAIT
    cli.close()
    srv.close()


def test_a_port_in_time_wait_is_free():
    port = ports.free_port()
    _time_wait(port)
    assert ports.port_problem(port) is None
    held = socket.socket()
    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    held.bind(("0.0.0.0", port))
    held.listen()
    try:
        assert ports.port_problem(port) == "in use"  # a listener still counts
    finally:
        held.close()


def test_a_refused_connection_fails_without_the_grpc_wait(monkeypatch):
    import grpc

    def never(*a, **k):
        raise AssertionError("waited on gRPC for a port that refuses connections")

    monkeypatch.setattr(grpc, "channel_ready_future", never)
    port = ports.free_port()
    assert ports.refused("127.0.0.1", port)
    assert remote.dead_workers([f"127.0.0.1:{port}"], timeout_s=600.0) == [f"127.0.0.1:{port}"]


def test_a_killed_worker_restarts_on_its_port_and_an_ignored_sigint_still_stops_it():
    port = ports.free_port()
    first = _worker(port)
    try:
        assert ports.wait_until_accepting("127.0.0.1", port, 60), first.stderr.read() if first.poll() else ""
        conn = socket.create_connection(("127.0.0.1", port))
        first.send_signal(signal.SIGKILL)  # worker_binary dies with it (PR_SET_PDEATHSIG)
        first.wait()
        try:
            conn.recv(1)  # the dying server closed the connection first (TIME-WAIT on its side)
        except ConnectionResetError:
            pass  # or reset it: no TIME-WAIT then; test_a_port_in_time_wait_is_free covers that case alone
        conn.close()
    finally:
        first.kill()
        first.communicate()
    # started like `tffnoise worker --port P &`: SIGINT ignored from the start
    second = _worker(port, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        assert ports.wait_until_accepting("127.0.0.1", port, 60), second.communicate(timeout=5)[1]
        os.kill(second.pid, signal.SIGINT)
        _, err = second.communicate(timeout=30)
        assert second.returncode == 0 and "stopped (SIGINT)" in err
    finally:
        if second.poll() is None:
            second.kill()
            second.communicate()

"""The outage proxy itself: forwards, refuses, blackholes and heals on the same port."""

from __future__ import annotations

import socket
import socketserver
import threading

import pytest

from tcp_proxy import Proxy


class _Echo(socketserver.BaseRequestHandler):
    """Answer every chunk with the same bytes."""

    def handle(self):
        """Echo until the client goes away."""
        try:
            while data := self.request.recv(4096):
                self.request.sendall(data)
        except ConnectionResetError:
            pass  # the proxy resets its upstream side on a cut


@pytest.fixture
def echo_port():
    """A threaded echo server on 127.0.0.1, standing in for PostgreSQL or Redis."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def talk(port: int, message: bytes = b"ping", timeout: float = 2) -> socket.socket:
    """Connect, send, check the echo, and return the still-open connection."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    conn.sendall(message)
    assert conn.recv(4096) == message
    return conn


def assert_dropped(conn: socket.socket) -> None:
    """An open connection was reset (or closed) by the proxy."""
    try:
        conn.sendall(b"again")
        assert conn.recv(4096) == b""
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        conn.close()


def test_forwards_both_ways(tcp_proxy, echo_port):
    proxy = tcp_proxy(echo_port)
    assert proxy.port != echo_port
    conn = talk(proxy.port, b"hello")
    assert proxy.open_links == 1
    conn.close()


def test_refuse_resets_open_connections_and_refuses_new_ones(tcp_proxy, echo_port):
    proxy = tcp_proxy(echo_port)
    conn = talk(proxy.port)
    proxy.cut("refuse")
    assert_dropped(conn)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
    proxy.heal()
    talk(proxy.port, b"back").close()


def test_refuse_keeps_the_port_so_no_other_socket_takes_it(tcp_proxy, echo_port):
    # In CI a parallel worker's proxy once got a refused proxy's freed port, and the "outage" answered.
    proxy = tcp_proxy(echo_port)
    proxy.cut("refuse")
    other = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(OSError, match="in use"):
            other.bind(("127.0.0.1", proxy.port))
    finally:
        other.close()
    proxy.heal()
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=2) as conn:
        conn.sendall(b"back")
        assert conn.recv(4) == b"back"


def test_blackhole_accepts_but_never_answers(tcp_proxy, echo_port):
    proxy = tcp_proxy(echo_port)
    conn = talk(proxy.port)
    proxy.cut("blackhole")
    assert_dropped(conn)
    silent = socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
    silent.sendall(b"anyone?")
    silent.settimeout(0.5)
    with pytest.raises(TimeoutError):
        silent.recv(4096)
    proxy.heal()
    assert_dropped(silent)
    talk(proxy.port, b"back").close()


def test_unknown_mode_is_refused(tcp_proxy, echo_port):
    with pytest.raises(ValueError, match="mode must be one of"):
        tcp_proxy(echo_port).cut("flaky")


def test_stop_closes_the_port(echo_port):
    proxy = Proxy(echo_port)
    port = proxy.port
    proxy.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)


@pytest.mark.services
def test_redis_through_the_proxy_fails_fast_and_recovers(tcp_proxy, redis_url):
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    proxy = tcp_proxy(6379)
    # No retries: each outage shows up on the first call instead of after redis-py's back-off.
    client = redis.Redis.from_url(redis_url.replace("127.0.0.1:6379", proxy.url_host),
                                  socket_connect_timeout=1, socket_timeout=1, retry=Retry(NoBackoff(), 0))
    assert client.ping()
    for mode, error in (("refuse", redis.ConnectionError), ("blackhole", redis.TimeoutError)):
        proxy.cut(mode)
        with pytest.raises(error):
            client.ping()
        proxy.heal()
        assert client.ping()


@pytest.mark.services
def test_postgresql_through_the_proxy_fails_fast_and_recovers(tcp_proxy, pg_url):
    import psycopg

    proxy = tcp_proxy(5432)
    url = pg_url.replace("+psycopg", "").replace("127.0.0.1:5432", proxy.url_host)
    with psycopg.connect(url, connect_timeout=2) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        proxy.cut("refuse")
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)
    proxy.cut("blackhole")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)
    proxy.heal()
    with psycopg.connect(url, connect_timeout=2) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


class _Recorder(_Echo):
    """Echo, and keep every chunk received: proof that the target acted on a request."""

    received: list[bytes] = []

    def handle(self):
        """Record each chunk before echoing it."""
        try:
            while data := self.request.recv(4096):
                self.received.append(data)
                self.request.sendall(data)
        except ConnectionResetError:
            pass


def test_lose_answers_lets_the_target_act_and_drops_its_answer(tcp_proxy):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Recorder)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        proxy = tcp_proxy(server.server_address[1])
        _Recorder.received = []
        proxy.cut("lose-answers")
        conn = socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
        conn.sendall(b"create one key")
        try:
            answer = conn.recv(4096)
        except ConnectionResetError:
            answer = b""
        conn.close()
        assert answer == b""  # the client never hears the answer...
        assert _Recorder.received == [b"create one key"]  # ...though the target got the request once
        assert proxy.answers_lost == 1
        proxy.heal()
        talk(proxy.port, b"answered again").close()
        assert proxy.answers_lost == 1
    finally:
        server.shutdown()
        server.server_close()

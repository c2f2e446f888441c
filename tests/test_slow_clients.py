"""Slow clients behind the shipped nginx rules: 50 trickling connections leave a normal request answered at once."""

from __future__ import annotations

import http.client
import runpy
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from bench._util import ROOT, free_port, gunicorn, stop, wait_http
from conftest import _service_missing

pytestmark = pytest.mark.services

NGINX = Path("/usr/sbin/nginx")
SHARED_RULES = ROOT / "docker" / "nginx-portal.conf"
SLOW_CLIENTS = 50
TRICKLE_SECONDS = 2  # one header byte per connection this often (issue 7: 16-20 of these stopped gunicorn)
BOUND_SECONDS = 1.0  # the bound for a normal request meanwhile
REQUEST = b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow\r\nAccept: */*\r\n\r\n"


def nginx_conf(folder: Path, port: int, upstream: str) -> str:
    """Debian's nginx on loopback, plain HTTP, with the shipped proxy rules included unchanged."""
    temp = " ".join(f"{kind}_temp_path {folder}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                    "scgi"))
    return f"""
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {folder}/access.log;
    {temp}
    upstream portal {{ server {upstream}; keepalive 16; }}
    server {{
        listen 127.0.0.1:{port};
        include {SHARED_RULES};
    }}
}}
"""


@pytest.fixture
def portal(tmp_path):
    """gunicorn with the shipped settings on loopback, one worker of two threads: easy to starve directly."""
    env = {"SECRET_KEY": "n" * 64, "INSTANCE_PATH": str(tmp_path / "instance"), "PROXY_HOPS": "1",
           "PORTAL_HOSTS": "127.0.0.1", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
           "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "2"}
    with gunicorn(env=env, log=tmp_path / "gunicorn.log") as server:
        yield server


@pytest.fixture
def nginx(tmp_path, portal):
    """Debian's nginx in front of the portal; its port."""
    if not NGINX.exists():
        _service_missing("Debian's nginx is not installed (apt-get install -y nginx)")
    folder = tmp_path / "nginx"
    folder.mkdir()
    port = free_port()
    conf = folder / "nginx.conf"
    conf.write_text(nginx_conf(folder, port, portal.url.removeprefix("http://")))
    log = (folder / "stderr.log").open("w")
    proc = subprocess.Popen([str(NGINX), "-c", str(conf), "-p", str(folder)], stdout=log, stderr=log)  # noqa: S603
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", 30, proc, folder / "stderr.log")
        yield port
    finally:
        stop(proc)
        log.close()


class Trickle:
    """Connections that send a request's headers one byte at a time, like a slowloris client."""

    def __init__(self, port: int, count: int):
        self.sockets = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]
        self.sent = 0
        self.closed_by_server = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        """Send the next byte on every connection, then wait; never finish the headers."""
        while not self._stop.is_set() and self.sent < len(REQUEST) - 4:
            for sock in self.sockets:
                try:
                    sock.sendall(REQUEST[self.sent:self.sent + 1])
                except OSError:
                    pass  # counted by closed() below
            self.sent += 1
            self._stop.wait(TRICKLE_SECONDS)

    def closed(self) -> int:
        """How many connections the server has closed (nginx's client_header_timeout)."""
        count = 0
        for sock in self.sockets:
            sock.settimeout(0.05)
            try:
                data = sock.recv(1024)
                count += data == b"" or data.startswith(b"HTTP/1.1 408")
            except TimeoutError:
                pass
            except OSError:
                count += 1
        return count

    def stop(self) -> None:
        """Stop sending and close every connection."""
        self._stop.set()
        self._thread.join(5)
        for sock in self.sockets:
            sock.close()


def timed_get(port: int, path: str) -> tuple[int, float]:
    """A normal client's GET through nginx: status and seconds until the whole answer arrived."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status, time.monotonic() - started
    finally:
        conn.close()


def test_slow_header_clients_do_not_starve_the_portal(nginx, portal, monkeypatch):
    trickle = Trickle(nginx, SLOW_CLIENTS)
    try:
        time.sleep(2 * TRICKLE_SECONDS + 0.5)  # every connection open and part-way through its headers
        assert trickle.sent >= 2 and trickle.closed() == 0
        answers = [timed_get(nginx, "/login") for _ in range(3)]
        print(f"\n{SLOW_CLIENTS} slow-header connections open; /login through nginx answered in "
              + ", ".join(f"{took * 1000:.0f} ms" for _status, took in answers))
        assert [status for status, _took in answers] == [200, 200, 200]
        assert max(took for _status, took in answers) < BOUND_SECONDS, answers
        # The probe, straight to gunicorn with the trusted host name, also answers meanwhile.
        monkeypatch.setenv("PORT", portal.url.rsplit(":", 1)[1])
        monkeypatch.setenv("PORTAL_HOSTS", "127.0.0.1")
        probe = runpy.run_path(str(ROOT / "docker" / "healthcheck.py"), run_name="probe")["main"]
        assert probe(["--ready"]) == 0 and probe([]) == 0
        # nginx's client_header_timeout (10 s for the whole header) then drops every trickler.
        deadline = time.monotonic() + 15
        while trickle.closed() < SLOW_CLIENTS and time.monotonic() < deadline:
            time.sleep(0.5)
        assert trickle.closed() == SLOW_CLIENTS
    finally:
        trickle.stop()


def test_the_shipped_config_includes_the_tested_rules():
    shipped = (ROOT / "docker" / "nginx.conf").read_text()
    assert "include /etc/nginx/portal-proxy.conf;" in shipped
    assert "COPY docker/nginx-portal.conf /etc/nginx/portal-proxy.conf" in (
        ROOT / "docker" / "nginx.Dockerfile").read_text()

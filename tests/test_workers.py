"""Single-host defaults under gunicorn: several workers share sessions and the audit log through files."""

from __future__ import annotations

import base64
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from types import SimpleNamespace

from gunicorn.config import Config
from limits import parse_many
from worker_helpers import load_config, only_worker

from app.config import from_environment
from bench._util import ROOT, Browser, Server, emulator, free_port, gunicorn

FLOW = ["sign_in", "device_created", "device_enabled", "credentials_issued", "enrollment_completed"]


def test_config_defaults_are_loopback_and_trust_no_proxy(monkeypatch):
    conf = load_config(monkeypatch)
    assert conf["bind"] == "127.0.0.1:8000"
    assert (conf["workers"], conf["threads"], conf["worker_class"]) == (2, 8, "gthread")
    assert conf["timeout"] > 16  # the worst AWS call: two attempts of 3 s connect + 5 s read
    assert conf["forwarded_allow_ips"] == ""
    assert conf["control_socket_disable"] is True


def test_config_reads_the_environment(monkeypatch):
    conf = load_config(monkeypatch, HOST="0.0.0.0", PORT="9000", WEB_CONCURRENCY="4", GUNICORN_THREADS="2",  # noqa: S104
                       FORWARDED_ALLOW_IPS="10.0.0.0/8")
    assert (conf["bind"], conf["workers"], conf["threads"]) == ("0.0.0.0:9000", 4, 2)
    assert conf["forwarded_allow_ips"] == "10.0.0.0/8"


def test_logs_never_carry_query_strings(monkeypatch, tmp_path):
    conf = load_config(monkeypatch)
    for atom in ("%(r)s", "%(q)s", "%(f)s", "}i"):
        assert atom not in conf["access_log_format"]
    cfg = Config()
    cfg.set("errorlog", str(tmp_path / "error.log"))
    log = conf["logger_class"](cfg)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("Error handling request %s %s", "GET", "/credentials/result?code=123456")
    log.error_log.log(logging.WARNING, "Invalid request from ip=1.2.3.4: 'GET /x?secret=abc HTTP/1.1'")
    for handler in log.error_log.handlers:
        handler.close()
    text = (tmp_path / "error.log").read_text()
    assert "/credentials/result?[query removed]" in text
    assert "123456" not in text and "secret=abc" not in text


def _access_line(logger_class, log_format: str, path, **headers: str) -> str:
    """Write one access line for a made-up request through the given logger class and return it."""
    import datetime

    cfg = Config()
    cfg.set("accesslog", str(path))
    cfg.set("access_log_format", log_format)
    log = logger_class(cfg)
    response = SimpleNamespace(status="200 OK", sent=321, headers=[("Content-Type", "text/html")])
    request = SimpleNamespace(headers=[("USER-AGENT", 'Mozilla "5"'), ("X-TEST", "seen")])
    environ = {"REMOTE_ADDR": "127.0.0.1", "REQUEST_METHOD": "POST", "RAW_URI": "/login", "PATH_INFO": "/login",
               "SERVER_PROTOCOL": "HTTP/1.1", "QUERY_STRING": "", "HTTP_USER_AGENT": 'Mozilla "5"', **headers}
    log.access(response, request, environ, datetime.timedelta(seconds=1, microseconds=2500))
    for handler in log.access_log.handlers:
        handler.close()
    return path.read_text().replace(f"<{os.getpid()}>", "<pid>")


def test_access_lines_are_gunicorns_own_without_copying_headers(monkeypatch, tmp_path):
    from gunicorn.glogging import Logger

    conf = load_config(monkeypatch)
    plain = conf["access_log_format"] + " %(T)s %(D)s %(L)s %(b)s %(l)s %(u)s"
    ours = _access_line(conf["logger_class"], plain, tmp_path / "ours.log")
    assert ours == _access_line(Logger, plain, tmp_path / "gunicorn.log")
    assert '"POST /login HTTP/1.1" 200 321 1002ms' in ours and 'Mozilla \\"5\\"' in ours
    # %(u)s: a proxy's Basic user name as gunicorn shows it; other schemes name nobody.
    for authorization, user in [("Basic " + base64.b64encode("zoë:pa:ss".encode()).decode(), "zoë"),
                                ('Digest username="mallory", realm="x"', "-"), ("Bearer abc", "-")]:
        line = _access_line(conf["logger_class"], plain, tmp_path / "auth.log", HTTP_AUTHORIZATION=authorization)
        assert line == _access_line(Logger, plain, tmp_path / "gunicorn-auth.log", HTTP_AUTHORIZATION=authorization)
        assert line.endswith(f" - {user}\n")
        (tmp_path / "auth.log").unlink()
        (tmp_path / "gunicorn-auth.log").unlink()
    # A format that names a header gets gunicorn's full atoms, header included.
    assert _access_line(conf["logger_class"], "%(h)s %({x-test}i)s", tmp_path / "header.log") == "127.0.0.1 seen\n"


def test_healthz_is_cheap(client):
    response = client.get("/healthz")
    assert (response.status_code, response.data) == (200, b"ok")
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def _rotate_workers(server: Server, browser: Browser, offset: int, parked: list[int]):
    """Return a step hook that freezes the workers of the last two steps, so the next step needs the third."""

    def hook() -> None:
        deadline = time.monotonic() + 10
        # gunicorn writes the access line just after the response; wait until it has caught up.
        while len(served := server.served_by()) < offset + browser.sent:
            assert time.monotonic() < deadline, "access log lags behind the requests"
            time.sleep(0.02)
        last = served[-1]
        frozen = [pid for pid in parked if pid != last][-1:] + [last]
        for pid in set(parked) - set(frozen):
            os.kill(pid, signal.SIGCONT)
        for pid in set(frozen) - set(parked):
            os.kill(pid, signal.SIGSTOP)
        parked[:] = frozen

    return hook


def test_one_enrollment_across_three_workers(tmp_path):
    instance = tmp_path / "instance"
    aws_port = free_port()
    # No DATABASE_URL, no REDIS_URL: SQLite and session files in the instance folder.
    env = {"SECRET_KEY": "w" * 64, "INSTANCE_PATH": str(instance), "AWS_ENDPOINT_URL": f"http://127.0.0.1:{aws_port}",
           "ALLOW_INSECURE_HTTP": "1", "WEB_CONCURRENCY": "3", "GUNICORN_THREADS": "2"}
    with emulator(tmp_path, port=aws_port, wait=False) as aws:
        with gunicorn(env=env, log=tmp_path / "gunicorn.log", ready_path=None) as server:
            aws.wait_ready()
            server.wait_ready()
            # A new connection per request, so any worker may take any request...
            browser = Browser(aws.user("new.hire"), server.url, headers={"Connection": "close"})
            parked: list[int] = []
            offset = len(server.served_by())
            try:
                # ...but the workers of the last two steps are frozen (SIGSTOP): each step needs the third.
                result = browser.enroll_fully(after_step=_rotate_workers(server, browser, offset, parked))
            finally:
                for pid in parked:
                    os.kill(pid, signal.SIGCONT)
            served = server.served_by()[offset:]
            port = server.url.rsplit(":", 1)[1]
            # The Docker HEALTHCHECK command, pointed at this server.
            probe = subprocess.run([sys.executable, str(ROOT / "docker" / "healthcheck.py")], env={"PORT": port},
                                   timeout=30, check=False)
            log = server.log.read_text()
    assert result.status_code == 200, result.text[:2000]
    assert "aws_session_token" in result.text
    assert len(set(served)) == 3, served
    assert probe.returncode == 0
    # The master migrated once before forking; no worker raced to create tables.
    assert log.count("Upgrading the database schema before starting workers") == 1
    assert "Exception in worker" not in log and "Traceback" not in log
    with sqlite3.connect(instance / "mfa-portal.sqlite") as db:
        actions = [row[0] for row in db.execute(
            "SELECT action FROM audit_event WHERE outcome <> 'attempt' ORDER BY id")]
    assert actions == FLOW
    store_files = [p for p in instance.iterdir() if p.name.startswith("sessions.sqlite")]
    with sqlite3.connect(instance / "sessions.sqlite") as db:
        assert db.execute("SELECT count(*) FROM portal_session").fetchone()[0] >= 1
    assert aws.user("new.hire")["secret_access_key"] not in "".join(
        p.read_bytes().decode("latin-1") for p in store_files)


def test_workers_count_rate_limits_together_without_redis(tmp_path):
    env = {"SECRET_KEY": "w" * 64, "INSTANCE_PATH": str(tmp_path / "instance"), "ALLOW_INSECURE_HTTP": "1",
           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}", "WEB_CONCURRENCY": "3", "GUNICORN_THREADS": "1"}
    limit = parse_many(from_environment()["SIGN_IN_LIMIT_PER_KEY"])[0]
    # Keys of the wrong shape: refused before any AWS call, yet each attempt counts against the key ID.
    stranger = Browser({"access_key_id": "AKIA123", "secret_access_key": "x"}, "", headers={"Connection": "close"})
    with gunicorn(env=env, log=tmp_path / "gunicorn.log") as server:
        stranger.base = server.url
        deadline = time.monotonic() + 30
        while len(workers := server.worker_pids()) < 3:  # the first answers /healthz before the others boot
            assert time.monotonic() < deadline, "gunicorn did not start three workers"
            time.sleep(0.1)
        for pid in workers:  # each must be serving before the others are frozen around it
            with only_worker(server, pid):
                stranger.request("GET", "/healthz")
        statuses = []
        for attempt in range(limit.amount):
            with only_worker(server, workers[attempt % 3]):
                statuses.append(stranger.sign_in().status_code)
        # Each worker saw a third of the attempts; any of them now refuses the next one.
        refused = []
        for pid in workers:
            with only_worker(server, pid):
                refused.append(stranger.sign_in().status_code)
        log = server.log.read_text()
    assert statuses == [400] * limit.amount
    assert refused == [429, 429, 429]
    assert "Traceback" not in log and "counts rate limits on its own" not in log
    assert (tmp_path / "instance" / "ratelimits.sqlite").exists()


def test_demo_mode_workers_share_one_generated_key(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "")
    monkeypatch.setenv("MFA_PORTAL_DEMO", "1")
    monkeypatch.setenv("AUTO_MIGRATE", "0")
    server = SimpleNamespace(app=SimpleNamespace(app_uri="bare_app:app"))  # stop after the key: no app build
    load_config(monkeypatch)["on_starting"](server)
    # Set in the master before forking, so every worker inherits the same one.
    assert len(os.environ["SECRET_KEY"]) == 64

"""gunicorn settings, parsed by app/config.py like every other setting: `gunicorn -c gunicorn.conf.py wsgi:app`."""

from __future__ import annotations

import gc
import logging
import os
import re
import runpy
import secrets
import signal
import subprocess  # nosec B404
import sys
from pathlib import Path

from gunicorn.glogging import Logger
from werkzeug.datastructures import Authorization

HERE = Path(__file__).resolve().parent
# gunicorn reads this file before it imports the app, so the checkout must be importable from here.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from app.config import server_settings  # noqa: E402  (needs the path above)

# The same environs parsing as the portal's own settings: defaults and their reasons are in app/config.py.
_settings = server_settings()

if _settings.metrics and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Every worker writes its counts to files here and /metrics adds them up (prometheus_client's
    # multiprocess mode); it must be set before the master imports the app, and start empty.
    from app.instance_files import private_dir

    _metrics_dir = private_dir(Path(_settings.instance_path) / "metrics")
    for _stale in _metrics_dir.glob("*.db"):
        _stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_metrics_dir)


def _one_malloc_arena() -> None:
    """Let every thread of a worker share glibc's main heap, unless the operator set MALLOC_ARENA_MAX."""
    # glibc gives each new thread its own arena (up to 8 per core), each keeping freed memory for itself:
    # ~1.6 MB of a worker's RSS after ten enrollments. Threads here take turns under the GIL anyway, so one
    # arena costs no waiting. Set in the master before any thread exists; forked workers inherit it.
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return
    import ctypes  # ~0.4 MB; ctypes.util's find_library would cost 3 MB more (and run ldconfig)

    try:
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, 1)  # the process's own symbols include libc's
    except (OSError, AttributeError):
        pass  # not glibc (musl, say): nothing to tune


_M_ARENA_MAX = -8  # glibc's malloc.h
_one_malloc_arena()

bind = _settings.bind
# Without REDIS_URL the workers share rate-limit counters through a SQLite file (app/limit_store.py).
workers = _settings.workers
threads = _settings.threads
worker_class = "gthread"
timeout = _settings.timeout
graceful_timeout = timeout
keepalive = _settings.keepalive
max_requests = _settings.max_requests
max_requests_jitter = _settings.max_requests_jitter
# Docker's /tmp may be a slow overlay; the worker heartbeat file belongs in memory (gunicorn's advice).
_SHM = "/dev/shm"  # noqa: S108  # nosec B108
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None
proc_name = "mfa-portal"

forwarded_allow_ips = _settings.forwarded_allow_ips

# Opt-in: several instances on one host would otherwise fight over the same default socket path.
control_socket = _settings.control_socket
control_socket_disable = not control_socket

accesslog = _settings.accesslog
errorlog = _settings.errorlog
loglevel = _settings.loglevel
_JSON = _settings.log_format == "json"
if _JSON:
    # Every line as one JSON object: gunicorn's own, the portal's, and the access lines, which the portal
    # writes itself (app/logs.py: it knows the request id, endpoint and actor) to GUNICORN_ACCESS_LOG.
    from app.logs import gunicorn_logconfig

    logconfig_dict = gunicorn_logconfig(errorlog, accesslog, loglevel, _settings.app_log_level)
# Path only (%(U)s), never the request line, query string or referrer, which could carry secrets.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms pid=%(p)s "%(a)s"'

_QUERY = re.compile(r"\?[^\s'\"]+")


class _DropQueryStrings(logging.Filter):
    """Cut query strings out of gunicorn's own messages ('Error handling request /path?...')."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's text with every query string replaced."""
        message = record.getMessage()
        if "?" in message:
            record.msg, record.args = _QUERY.sub("?[query removed]", message), None
        return True


_ATOM = re.compile(r"%\(([^)]*)\)")
# The atoms of the request itself; header and environ atoms ({...}i, {...}o, {...}e) need gunicorn's own.
_PLAIN_ATOMS = frozenset("hlutrsmUqHbBfaTDMLp")


def _basic_user(environ: dict) -> str:
    """The user name of an HTTP Basic Authorization header (a proxy's), as gunicorn's own %(u)s shows it, or '-'."""
    # werkzeug's public parser, not gunicorn's private Logger._get_user: the same name for every well-formed
    # header (tests/test_workers.py compares both); a malformed one logs '-' where gunicorn logged its bytes.
    auth = Authorization.from_header(environ.get("HTTP_AUTHORIZATION"))
    return (auth.username or "-") if auth is not None and auth.type == "basic" else "-"


class PortalLogger(Logger):
    """gunicorn's logger, minus query strings in error lines and header copies the format never prints."""

    def setup(self, cfg) -> None:
        """Install the filter after gunicorn has built its handlers; note which atoms the format names."""
        super().setup(cfg)
        self.error_log.addFilter(_DropQueryStrings())
        # An operator's own format may name headers or environ keys; those get gunicorn's full atoms.
        self._plain_format = set(_ATOM.findall(cfg.access_log_format or "")) <= _PLAIN_ATOMS

    def access(self, resp, req, environ, request_time) -> None:
        """Write gunicorn's access line, unless the portal writes its own (LOG_FORMAT=json)."""
        if not _JSON:
            super().access(resp, req, environ, request_time)

    def atoms(self, resp, req, environ, request_time) -> dict:
        """gunicorn's atoms, without copying every header and environ entry when the format prints none."""
        # gunicorn adds a dict entry per request header, response header and environ key to each access
        # line's atoms, which this format never prints: 19.1 against 2.3 us per line with a dozen request
        # headers (2026-12-07), ~0.2 ms per enrollment (bench/README.md). tests/test_workers.py checks both
        # write the same line, so a gunicorn that changes its atoms fails there.
        if not getattr(self, "_plain_format", False):
            return super().atoms(resp, req, environ, request_time)
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        sent = getattr(resp, "sent", None)
        seconds, micros = request_time.seconds, request_time.microseconds
        return {
            "h": environ.get("REMOTE_ADDR", "-"), "l": "-", "u": _basic_user(environ), "t": self.now(),
            "r": f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}",
            "s": status, "m": environ.get("REQUEST_METHOD"), "U": environ.get("PATH_INFO"),
            "q": environ.get("QUERY_STRING"), "H": environ.get("SERVER_PROTOCOL"),
            "b": str(sent) if sent is not None else "-", "B": sent, "f": environ.get("HTTP_REFERER", "-"),
            "a": environ.get("HTTP_USER_AGENT", "-"), "T": seconds, "D": seconds * 1_000_000 + micros,
            "M": seconds * 1000 + micros // 1000, "L": f"{seconds}.{micros:06d}", "p": f"<{os.getpid()}>",
        }


logger_class = PortalLogger


_PORTAL_MODULES = {"wsgi", "app", "app.factory"}


def on_starting(server) -> None:
    """Prepare once in the master, before any worker forks."""
    # Demo mode makes a random key per process; workers must share one or sessions break between them.
    settings = server_settings()  # again: the environment may have changed since this file was read
    if not settings.has_secret_key and settings.demo:
        os.environ["SECRET_KEY"] = secrets.token_hex(32)
    if str(getattr(server.app, "app_uri", "")).split(":")[0] not in _PORTAL_MODULES:
        return  # another app under these settings (bench/bare_app.py)
    # Build the app once here: a bad setting stops gunicorn with its own message, and forked workers share
    # the master's imported modules instead of each loading a copy (about half the memory per worker).
    # Schema upgrades happen here too, once: workers migrating together race on a fresh database.
    migrate = settings.auto_migrate
    if migrate:
        server.log.info("Upgrading the database schema before starting workers")
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        if migrate:
            # In a child process, so that Alembic never enters the master and so never the workers.
            subprocess.run([sys.executable, str(HERE / "docker" / "migrate.py")], check=True)  # noqa: S603  # nosec B603
        runpy.run_path(str(HERE / "docker" / "migrate.py"))["main"](upgrade_schema=False)
    finally:
        # Alembic's logging.fileConfig replaced the root handlers; workers set up their own.
        root.handlers[:] = handlers
        root.setLevel(level)
    os.environ["AUTO_MIGRATE"] = "0"
    # Objects that exist now live as long as the master: keep the collector off their pages so that
    # workers do not copy them just by collecting.
    gc.freeze()


def child_exit(server, worker) -> None:
    """Let /metrics drop a finished worker's live gauges (its counters stay counted)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


_consumer: subprocess.Popen | None = None


def when_ready(server) -> None:
    """Start this machine's one queue consumer (webhooks, reminders) beside the workers, unless told not to."""
    global _consumer
    if _consumer is not None or str(getattr(server.app, "app_uri", "")).split(":")[0] not in _PORTAL_MODULES:
        return
    if not server_settings().queue_consumer:
        server.log.info("QUEUE_CONSUMER=0: events and reminders wait for a consumer started elsewhere")
        return
    # A small supervisor process, not the consumer itself: gunicorn's master reaps every child it has, so it
    # could not notice the consumer dying; the supervisor restarts it and stops when the master goes.
    _consumer = subprocess.Popen([sys.executable, "-m", "app.consumer", "--supervise"], cwd=HERE)  # noqa: S603  # nosec B603
    server.log.info("Started the queue consumer (pid %s)", _consumer.pid)


def on_exit(server) -> None:
    """Stop the queue consumer with gunicorn: the task in hand is finished, the rest waits in the queue."""
    if _consumer is None:
        return
    _consumer.send_signal(signal.SIGINT)
    try:
        _consumer.wait(timeout=graceful_timeout)
    except subprocess.TimeoutExpired:
        _consumer.kill()

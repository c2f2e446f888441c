"""gunicorn settings for the portal, every one from the environment: `gunicorn -c gunicorn.conf.py wsgi:app`."""

from __future__ import annotations

import gc
import logging
import os
import re
import runpy
import secrets
import subprocess  # nosec B404
import sys
from pathlib import Path

from gunicorn.glogging import Logger

HERE = Path(__file__).resolve().parent


def _int(name: str, default: int) -> int:
    """Read an integer environment variable."""
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _on(name: str, default: bool) -> bool:
    """Read a yes/no environment variable the way app/config.py does."""
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


# Loopback unless told otherwise: the portal belongs behind a TLS-terminating proxy.
# (gunicorn's own default binds 0.0.0.0 as soon as PORT is set; the Dockerfile sets HOST instead.)
bind = os.environ.get("BIND") or f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"

# Two processes for two cores; threads because most of a request is spent waiting for AWS. Without
# REDIS_URL the workers share rate-limit counters through a SQLite file (app/limit_store.py).
workers = _int("WEB_CONCURRENCY", 2)
threads = _int("GUNICORN_THREADS", 8)
worker_class = "gthread"
# Above the worst AWS call (3 s connect + 5 s read, two attempts: about 16 s), so it is never cut short.
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = timeout
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycling workers after N requests guards against slow leaks; 0 (never) until one is seen.
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 0)
# Docker's /tmp may be a slow overlay; the worker heartbeat file belongs in memory (gunicorn's advice).
_SHM = "/dev/shm"  # noqa: S108  # nosec B108
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None
proc_name = "mfa-portal"

# Proxy trust lives in the app (PROXY_HOPS); gunicorn trusts X-Forwarded-Proto only from addresses named here.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "")

# Opt-in: several instances on one host would otherwise fight over the same default socket path.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket

accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
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


class PortalLogger(Logger):
    """gunicorn's logger, minus query strings in error lines."""

    def setup(self, cfg) -> None:
        """Install the filter after gunicorn has built its handlers."""
        super().setup(cfg)
        self.error_log.addFilter(_DropQueryStrings())


logger_class = PortalLogger


_PORTAL_MODULES = {"wsgi", "app"}


def on_starting(server) -> None:
    """Prepare once in the master, before any worker forks."""
    # Demo mode makes a random key per process; workers must share one or sessions break between them.
    if not os.environ.get("SECRET_KEY") and _on("MFA_PORTAL_DEMO", False):
        os.environ["SECRET_KEY"] = secrets.token_hex(32)
    if str(getattr(server.app, "app_uri", "")).split(":")[0] not in _PORTAL_MODULES:
        return  # another app under these settings (bench/bare_app.py)
    # Build the app once here: a bad setting stops gunicorn with its own message, and forked workers share
    # the master's imported modules instead of each loading a copy (about half the memory per worker).
    # Schema upgrades happen here too, once: workers migrating together race on a fresh database.
    migrate = _on("AUTO_MIGRATE", True)
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

"""Derive the settings that depend on others: secret check, database, session store, limiter."""

from __future__ import annotations

import os
import secrets

from flask import Flask

from . import backends, limit_store
from .config import ConfigurationError
from .instance_files import private_dir, private_sqlite, sqlite_path
from .services import devices
from .session_store import RedisStore, SqliteStore

__all__ = ["ConfigurationError", "configure"]


def configure(app: Flask) -> None:
    """Fill in derived settings, or stop start-up with a clear message."""
    config = app.config
    local = config["DEMO_MODE"] or config.get("TESTING")
    if not config.get("SECRET_KEY"):
        if not local:
            raise ConfigurationError(
                "SECRET_KEY is not set. The portal encrypts keys and seeds with it and will not start "
                "without one. Generate one with: python -c 'import secrets; print(secrets.token_hex(32))'"
            )
        # Demo and tests get a random key per process: nothing they hold must outlive them.
        config["SECRET_KEY"] = secrets.token_hex(32)
    try:
        devices.check_backup_pattern(config.get("MFA_BACKUP_NAME_PATTERN", ""))
    except ValueError as err:
        raise ConfigurationError(str(err)) from None
    private_dir(app.instance_path)  # keys, seeds and the audit log live here: owner only
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "mfa-portal.sqlite")
    if database_file := sqlite_path(config["SQLALCHEMY_DATABASE_URI"]):
        # Flask-SQLAlchemy reads a relative SQLite path as relative to the instance folder.
        private_sqlite(os.path.join(app.instance_path, database_file))
    config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", backends.engine_options(config))
    # Flask 3.1 checks every request's Host (after ProxyFix: the forwarded host) against this list.
    # Flask presets TRUSTED_HOSTS to None (any host), so setdefault would not do.
    if config["PORTAL_HOSTS"] and not config.get("TRUSTED_HOSTS"):
        config["TRUSTED_HOSTS"] = list(config["PORTAL_HOSTS"])
    _configure_sessions(app)
    # Not an environment setting: the limits fail closed in every deployment; only tests turn them off
    # (create_app's overrides), as Flask-Limiter reads the same key.
    config.setdefault("RATELIMIT_ENABLED", True)
    # Without Redis, a file in the instance folder: the workers of one host then share every limit.
    config.setdefault("RATELIMIT_STORAGE_URI", config["REDIS_URL"] or limit_store.uri_for(
        os.path.join(app.instance_path, "ratelimits.sqlite")))
    # The error page sets Retry-After itself; Flask-Limiter's headers would stretch any Retry-After on a
    # limited route (AWS's few seconds included) to the end of the limit's window.
    config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    config.setdefault("RATELIMIT_KEY_PREFIX", "mfa-portal")
    config.setdefault("RATELIMIT_STORAGE_OPTIONS", _limit_store_options(config))
    config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the session's own lifetime bounds the token
    # Browsers send no Referer here (Referrer-Policy: no-referrer), so Flask-WTF's HTTPS Referer check would
    # refuse every form; the token, SameSite=Lax and the Fetch Metadata check in security.py stand instead.
    config.setdefault("WTF_CSRF_SSL_STRICT", False)
    if config.get("MAX_CONTENT_LENGTH") is None:  # Flask presets None: no cap at all
        # Every form is a few short fields; without a cap Werkzeug would spool any uploaded file to disk.
        config["MAX_CONTENT_LENGTH"] = 64 * 1024


def _configure_sessions(app: Flask) -> None:
    """Keep sessions server-side: Redis when shared, else files in the instance folder."""
    config = app.config
    config.setdefault("SESSION_KEY_PREFIX", "mfa-portal:session:")
    # An idle timeout: a request that changes the session restarts it, and one that changes nothing does
    # when the last restart is over RESTART_AFTER (a minute) old (session_interface.py).
    config["PERMANENT_SESSION_LIFETIME"] = config["IDLE_TIMEOUT"]
    config["SESSION_REFRESH_EACH_REQUEST"] = True
    config["SESSION_COOKIE_NAME"] = "mfa_portal"  # Flask presets "session", so setdefault would not do
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    # Flask presets False; only local development may send the session cookie over plain HTTP.
    config["SESSION_COOKIE_SECURE"] = not (config["DEMO_MODE"] or config.get("TESTING")
                                           or config["ALLOW_INSECURE_HTTP"])
    if "SESSION_STORE" in config:
        return
    if config["REDIS_URL"]:
        import redis  # only for a portal on Redis: one on SQLite never loads redis-py (~7 MB a worker)

        connection = redis.Redis.from_url(config["REDIS_URL"], **backends.redis_options(config))
        config["SESSION_STORE"] = RedisStore(connection, config["SESSION_KEY_PREFIX"], config["SECRET_KEY"])
    else:
        # A SQLite file works across the gunicorn workers of one host, unlike process memory, and its
        # write lock makes each per-key update atomic.
        config["SESSION_STORE"] = SqliteStore(str(private_sqlite(private_dir(app.instance_path) / "sessions.sqlite")),
                                              config["SECRET_KEY"])


def _limit_store_options(config) -> dict:
    """Make an unreachable limit store fail fast and recognisably, so limited POSTs can fail closed."""
    # Wrapped, every store's errors arrive as limits' StorageError, which error_pages turns into a 503.
    options: dict = {"wrap_exceptions": True}
    if config["RATELIMIT_STORAGE_URI"].startswith(("redis://", "rediss://")):
        # redis-py waits forever by default and retries three times with back-off: a partitioned Redis would
        # hold every sign-in for minutes. The session store's settings: 1 s timeouts, one quick retry.
        options.update(backends.redis_options(config))
    return options

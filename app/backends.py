"""The portal's own dependencies (database, Redis): short timeouts, which errors mean "unreachable", readiness."""

from __future__ import annotations

import logging
import sys

import sqlalchemy.exc
from flask import current_app
from sqlalchemy import text

from .extensions import db

log = logging.getLogger(__name__)

# Errors that say a dependency is down or not answering, not that the portal has a bug. psycopg's
# OperationalError covers refused and timed-out connects and statement timeouts (QueryCanceled).
# psycopg and redis-py cost ~15 MB a worker, so they are imported only where configured (SQLAlchemy
# loads psycopg for a PostgreSQL URL, setup.py loads redis for REDIS_URL); an error class of a module
# nobody imported cannot be raised, so these read what is loaded.
def database_down() -> tuple[type[BaseException], ...]:
    """Return the exception classes that mean the database is unreachable."""
    psycopg = sys.modules.get("psycopg")
    return (sqlalchemy.exc.OperationalError, sqlalchemy.exc.TimeoutError,
            *((psycopg.OperationalError,) if psycopg else ()))


def redis_down() -> tuple[type[BaseException], ...]:
    """Return the exception classes that mean Redis is unreachable."""
    redis = sys.modules.get("redis")
    return (redis.ConnectionError, redis.TimeoutError) if redis else ()


def outages() -> tuple[type[BaseException], ...]:
    """Return every exception class that means one of the portal's own dependencies is down."""
    return database_down() + redis_down()


# SQLite has no "wait forever": a statement timeout of 0 (no limit) waits this long for a lock.
_SQLITE_PATIENT_SECONDS = 60


def engine_options(config) -> dict:
    """SQLAlchemy engine options that bound every wait on the database."""
    url = config["SQLALCHEMY_DATABASE_URI"]
    statement = config["DATABASE_STATEMENT_TIMEOUT"]
    options: dict = {}
    if url.startswith("postgresql"):
        # Checks a pooled connection before use, so one dropped while the database restarted is replaced.
        # (A SQLite file has no connection to lose, so there it would be one wasted query per request.)
        options["pool_pre_ping"] = True
        connect = config["DATABASE_CONNECT_TIMEOUT"]
        options["pool_timeout"] = config["DATABASE_POOL_TIMEOUT"]
        options["connect_args"] = {
            # psycopg's default is to wait as long as the kernel does (minutes in a partition).
            "connect_timeout": connect,
            # Server side: a query stuck behind a lock or a runaway plan is cancelled (0: never, for migrations).
            "options": f"-c statement_timeout={int(statement * 1000)}",
            # Client side, for a partition on an established connection: unacknowledged data aborts it.
            "tcp_user_timeout": connect * 1000,
            "keepalives": 1,
            "keepalives_idle": 30,
        }
    elif url.startswith("sqlite"):
        # How long a write waits for another worker's write lock before "database is locked".
        options["connect_args"] = {"timeout": statement or _SQLITE_PATIENT_SECONDS}
    return options


def durable_sqlite(dbapi_connection, _record) -> None:
    """Per new SQLite connection: write-ahead log, and every commit synced to disk before it returns."""
    # WAL: one fsync per commit instead of the rollback journal's create, sync, write, sync and delete,
    # and readers never wait for the writer. FULL keeps an audit record across a power cut, not just a crash.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def redis_options(config) -> dict:
    """redis-py client options that bound every wait on Redis (sessions and rate limits)."""
    # Only for a portal on Redis (REDIS_URL): one on SQLite never loads redis-py (~7 MB a worker).
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return {
        "socket_connect_timeout": config["REDIS_CONNECT_TIMEOUT"],
        "socket_timeout": config["REDIS_TIMEOUT"],
        # Pings a connection idle this long before using it, so one Redis dropped is noticed and replaced.
        "health_check_interval": 30,
        # One quick retry covers a pooled connection Redis closed; redis-py's default (three, with
        # back-off) turned a partition into 15 s per call.
        "retry": Retry(NoBackoff(), 1),
    }


def unreachable() -> list[str]:
    """Name each dependency this process cannot reach right now: "database", "session store"."""
    down = []
    if not _database_answers():
        down.append("database")
    if not _session_store_answers():
        down.append("session store")
    return down


def _database_answers() -> bool:
    """Run SELECT 1 on a connection from the pool."""
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (sqlalchemy.exc.SQLAlchemyError, *database_down()) as err:
        log.warning("readiness: database unreachable (%s)", type(err).__name__)
        return False
    return True


def _session_store_answers() -> bool:
    """Ask the session interface to ping its store (Redis, or the host's SQLite file)."""
    if current_app.session_interface.ping():
        return True
    log.warning("readiness: session store unreachable")
    return False

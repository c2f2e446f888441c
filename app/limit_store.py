"""Rate-limit counters in a SQLite file, so every gunicorn worker on one host counts against the same limits."""

from __future__ import annotations

import os
import sqlite3
import threading
import time

from limits.storage import Storage

from .instance_files import private_sqlite

SCHEME = "portal-sqlite"
_SCHEMA = "CREATE TABLE IF NOT EXISTS counter (key TEXT PRIMARY KEY, value INTEGER NOT NULL, expires REAL NOT NULL)"
# One statement, so two workers counting the same key at once cannot lose a hit: SQLite takes the write
# lock for it, and a window that has run out starts again from this hit.
_INCR = """
INSERT INTO counter (key, value, expires) VALUES (:key, :amount, :now + :expiry)
ON CONFLICT (key) DO UPDATE SET
    value = CASE WHEN expires > :now THEN value + :amount ELSE :amount END,
    expires = CASE WHEN expires > :now THEN expires ELSE :now + :expiry END
RETURNING value
"""
_SWEEP_EVERY = 1000  # hits between deletions of finished windows, per process


def uri_for(path: str) -> str:
    """Return the RATELIMIT_STORAGE_URI that puts the counters in this file."""
    return f"{SCHEME}://{path}"


class SQLiteStorage(Storage):
    """A fixed-window counter store for the `limits` library (its documented extension point).

    The library's shared stores all need a server (Redis, Memcached, MongoDB); its memory store is
    per process, which under gunicorn gives a client each limit once per worker. Only POSTs are ever
    counted (see app/limits.py), so a small write per counted request costs little.
    """

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: float | str | bool):
        """Remember the file; connections open lazily, per process and thread (gunicorn forks after import)."""
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = uri.split("://", 1)[1]
        self._local = threading.local()
        self._hits = 0

    @property
    def base_exceptions(self) -> type[Exception]:
        """What the library may wrap as a storage error."""
        return sqlite3.Error

    def _db(self) -> sqlite3.Connection:
        """Return this thread's connection, opening it (and the table) on first use in this process."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            private_sqlite(self.path)  # counters name users and addresses: owner only, like the audit log
            db = sqlite3.connect(self.path, timeout=5, isolation_level=None)  # autocommit: one statement each
            db.execute("PRAGMA journal_mode=WAL")  # readers never wait for the one writer
            db.execute("PRAGMA synchronous=NORMAL")  # counters may lose the last hits in a power cut, no more
            db.execute(_SCHEMA)
            local.db, local.pid = db, os.getpid()
        return local.db

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Count `amount` hits in the key's current window (a new one if it ended) and return the total."""
        now = time.time()
        (value,) = self._db().execute(_INCR, {"key": key, "amount": amount, "now": now, "expiry": expiry}).fetchone()
        self._hits += 1
        if self._hits % _SWEEP_EVERY == 0:
            self._db().execute("DELETE FROM counter WHERE expires <= ?", (now,))
        return value

    def get(self, key: str) -> int:
        """Return the hits in the key's current window (0 once it has ended)."""
        row = self._db().execute("SELECT value FROM counter WHERE key = ? AND expires > ?",
                                 (key, time.time())).fetchone()
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        """Return when the key's current window ends (now, if there is none)."""
        now = time.time()
        row = self._db().execute("SELECT expires FROM counter WHERE key = ? AND expires > ?", (key, now)).fetchone()
        return row[0] if row else now

    def check(self) -> bool:
        """Tell whether the file can be read."""
        try:
            self._db().execute("SELECT 1 FROM counter LIMIT 1")
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        """Forget every counter; return how many there were."""
        return self._db().execute("DELETE FROM counter").rowcount

    def clear(self, key: str) -> None:
        """Forget one key's counter."""
        self._db().execute("DELETE FROM counter WHERE key = ?", (key,))

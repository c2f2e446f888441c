"""Where signed-in sessions live: per-key, existence-checked writes in Redis or a SQLite file."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
import threading
import time
from typing import Any, NamedTuple, Protocol

from .errors import StoreUnavailable

# A write changes only the keys its request changed, and only on an entry that still exists: a request
# that was in flight when the person signed out (or the session expired) cannot bring the session back,
# and a slow page cannot restore a key (a TOTP seed, say) that another request has dropped meanwhile.
_REDIS_UPDATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local removed = cjson.decode(ARGV[2])
for _, name in ipairs(removed) do redis.call('HDEL', KEYS[1], name) end
local changed = cjson.decode(ARGV[3])
for name, value in pairs(changed) do redis.call('HSET', KEYS[1], name, value) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""

# Take one key out of a session and return it, in one step: of several requests reading a secret shown
# once, exactly one gets it (HGET then HDEL could hand it to all of them between the two calls).
_REDIS_TAKE = """
local value = redis.call('HGET', KEYS[1], ARGV[1])
if value then redis.call('HDEL', KEYS[1], ARGV[1]) end
return value
"""


def id_key(secret_key: str) -> bytes:
    """Derive the key that hashes session ids from SECRET_KEY (HMAC as the derivation: one key per purpose)."""
    return hmac.new(secret_key.encode(), b"mfa-portal session id", hashlib.sha256).digest()


def stored_id(key: bytes, sid: str) -> str:
    """The name a session is kept under: a keyed hash of its id, so the store alone holds no usable cookie."""
    return hmac.new(key, sid.encode(), hashlib.sha256).hexdigest()


class Stored(NamedTuple):
    """A live session as read: its data, and when its idle time runs out (the store's clock, in seconds)."""

    data: dict[str, Any]
    expires: float


class SessionStore(Protocol):
    """What the session interface needs from a backend."""

    def create(self, sid: str, data: dict[str, Any], ttl: float) -> None:
        """Store a brand-new session."""

    def load(self, sid: str) -> Stored | None:
        """Return a live session's data and idle deadline, or None."""

    def update(self, sid: str, changed: dict[str, Any], removed: set[str], ttl: float) -> bool:
        """Apply these changes and restart the idle time, only if the session still exists."""

    def take(self, sid: str, name: str) -> Any:
        """Remove one key and return its value, atomically: None if it is gone (another request took it)."""

    def delete(self, sid: str) -> None:
        """End a session for good."""

    def ping(self) -> None:
        """Raise StoreUnavailable when the store cannot be reached."""

    def sweep(self) -> int:
        """Delete expired entries the backend does not expire itself; return how many."""


def _encode(value: Any) -> str:
    """Serialise one session value."""
    return json.dumps(value, separators=(",", ":"))


class RedisStore:
    """One Redis hash per session, its TTL the idle timeout; shared by every instance."""

    def __init__(self, connection: Any, prefix: str, secret_key: str):
        import redis  # only for a portal on Redis: one on SQLite never loads redis-py (~7 MB a worker)

        self.redis = connection
        self.prefix = prefix
        self._id_key = id_key(secret_key)
        self._errors = (redis.RedisError, OSError)
        self._update = connection.register_script(_REDIS_UPDATE)
        self._take = connection.register_script(_REDIS_TAKE)

    def _key(self, sid: str) -> str:
        """Name the hash of one session (by the hash of its id, never the id)."""
        return self.prefix + stored_id(self._id_key, sid)

    def _guarded(self, work):
        """Run one Redis operation, turning an outage into StoreUnavailable."""
        try:
            return work()
        except self._errors as err:
            raise StoreUnavailable() from err

    def create(self, sid: str, data: dict[str, Any], ttl: float) -> None:
        """Write the hash and its TTL in one transaction."""
        def work():
            pipe = self.redis.pipeline(transaction=True)
            pipe.hset(self._key(sid), mapping={name: _encode(value) for name, value in data.items()})
            pipe.pexpire(self._key(sid), int(ttl * 1000))
            pipe.execute()
        self._guarded(work)

    def load(self, sid: str) -> Stored | None:
        """Read every field of the hash and its remaining TTL, in one round trip."""
        def work():
            pipe = self.redis.pipeline(transaction=False)
            pipe.hgetall(self._key(sid))
            pipe.pttl(self._key(sid))
            return pipe.execute()
        raw, left_ms = self._guarded(work)
        if not raw:
            return None
        # -1 (no TTL) never happens to an entry this store wrote; read it as "restart the idle time now".
        return Stored({name.decode(): json.loads(value) for name, value in raw.items()},
                      time.time() + max(left_ms, 0) / 1000)

    def update(self, sid: str, changed: dict[str, Any], removed: set[str], ttl: float) -> bool:
        """Apply the changes atomically in a Lua script that first checks the hash exists."""
        args = [int(ttl * 1000), json.dumps(sorted(removed)),
                json.dumps({name: _encode(value) for name, value in changed.items()})]
        return bool(self._guarded(lambda: self._update(keys=[self._key(sid)], args=args)))

    def take(self, sid: str, name: str) -> Any:
        """HGET and HDEL in one Lua script: of concurrent takers, one gets the value."""
        raw = self._guarded(lambda: self._take(keys=[self._key(sid)], args=[name]))
        return json.loads(raw) if raw is not None else None

    def delete(self, sid: str) -> None:
        """Remove the hash."""
        self._guarded(lambda: self.redis.delete(self._key(sid)))

    def ping(self) -> None:
        """Ask Redis for a PONG."""
        self._guarded(self.redis.ping)

    def sweep(self) -> int:
        """Redis expires hashes itself."""
        return 0


class SqliteStore:
    """Sessions of one host in a SQLite file, shared by its workers; each write under SQLite's write lock."""

    def __init__(self, path: str, secret_key: str):
        self.path = path
        self._id_key = id_key(secret_key)
        self._local = threading.local()
        with self._connect() as db:
            # The column keeps its name; since ids are hashed, rows written under plain ids (before the
            # upgrade) are never found again and the sweep removes them as they expire.
            db.execute("CREATE TABLE IF NOT EXISTS portal_session (sid TEXT PRIMARY KEY, data TEXT NOT NULL, "
                       "expires REAL NOT NULL)")
        # The file holds sealed secrets: only the portal's own user may read it.
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.chmod(path + suffix, 0o600)

    def _connect(self) -> sqlite3.Connection:
        """Return this thread's connection (sqlite3 connections must not cross threads)."""
        db = getattr(self._local, "db", None)
        if db is None:
            old = os.umask(0o077)
            try:
                db = sqlite3.connect(self.path, timeout=2.0, isolation_level=None)
            finally:
                os.umask(old)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def _key(self, sid: str) -> str:
        """The row's key: the hash of the session id, never the id."""
        return stored_id(self._id_key, sid)

    def create(self, sid: str, data: dict[str, Any], ttl: float) -> None:
        """Insert the new session."""
        sid = self._key(sid)
        self._connect().execute("INSERT INTO portal_session VALUES (?, ?, ?)",
                                (sid, json.dumps(data), time.time() + ttl))

    def load(self, sid: str) -> Stored | None:
        """Read a session that has not passed its idle timeout."""
        sid = self._key(sid)
        row = self._connect().execute("SELECT data, expires FROM portal_session WHERE sid = ? AND expires > ?",
                                      (sid, time.time())).fetchone()
        return Stored(json.loads(row[0]), row[1]) if row else None

    def update(self, sid: str, changed: dict[str, Any], removed: set[str], ttl: float) -> bool:
        """Read, merge and write back inside one IMMEDIATE transaction, so no other write interleaves."""
        sid = self._key(sid)
        db = self._connect()
        now = time.time()
        if not changed and not removed:
            # Most pages change nothing: one statement restarts the idle time of a session that still
            # exists, without reading, decoding and rewriting its data.
            return db.execute("UPDATE portal_session SET expires = ? WHERE sid = ? AND expires > ?",
                              (now + ttl, sid, now)).rowcount == 1
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT data FROM portal_session WHERE sid = ? AND expires > ?", (sid, now)).fetchone()
            if row is None:
                db.execute("COMMIT")
                return False
            data = json.loads(row[0])
            for name in removed:
                data.pop(name, None)
            data.update(changed)
            db.execute("UPDATE portal_session SET data = ?, expires = ? WHERE sid = ?",
                       (json.dumps(data), now + ttl, sid))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return True

    def take(self, sid: str, name: str) -> Any:
        """Read, drop the key and write back under SQLite's write lock: of concurrent takers, one gets it."""
        sid = self._key(sid)
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT data FROM portal_session WHERE sid = ? AND expires > ?",
                             (sid, time.time())).fetchone()
            data = json.loads(row[0]) if row else {}
            value = data.pop(name, None)
            if value is not None:
                db.execute("UPDATE portal_session SET data = ? WHERE sid = ?", (json.dumps(data), sid))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return value

    def delete(self, sid: str) -> None:
        """Delete the row."""
        sid = self._key(sid)
        self._connect().execute("DELETE FROM portal_session WHERE sid = ?", (sid,))

    def ping(self) -> None:
        """A local file is there as long as the disk is."""
        try:
            self._connect().execute("SELECT 1")
        except sqlite3.Error as err:
            raise StoreUnavailable() from err

    def sweep(self) -> int:
        """Delete sessions past their idle timeout, so sealed keys do not linger on disk."""
        return self._connect().execute("DELETE FROM portal_session WHERE expires <= ?", (time.time(),)).rowcount

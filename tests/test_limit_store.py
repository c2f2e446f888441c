"""The SQLite rate-limit store: fixed windows, shared by every process that opens the same file."""

from __future__ import annotations

import multiprocessing
import time

import pytest
import time_machine
from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from app import limit_store
from conftest import make_test_app


class Clock:
    """The process's one clock, frozen by time-machine: the store reads time.time() as it does in production."""

    def __init__(self, traveller) -> None:
        self.traveller = traveller

    @property
    def t(self) -> float:
        """The frozen time."""
        return time.time()

    def advance(self, seconds: float) -> None:
        """Move the frozen time forward."""
        self.traveller.shift(seconds)


@pytest.fixture
def now():
    """Time frozen at a fixed moment for the test, moved only by the test."""
    with time_machine.travel(1_800_000_000.0, tick=False) as traveller:
        yield Clock(traveller)


@pytest.fixture
def uri(tmp_path) -> str:
    """A store file of its own."""
    return limit_store.uri_for(str(tmp_path / "limits.sqlite"))


def test_counts_within_a_window_and_starts_again_after_it(uri, now):
    store = storage_from_string(uri)
    assert isinstance(store, limit_store.SQLiteStorage) and store.check()
    assert [store.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert store.incr("k", 60, amount=2) == 5
    assert store.get("k") == 5 and store.get_expiry("k") == now.t + 60
    now.advance(59)  # the window is fixed: hits do not push its end out
    assert store.incr("k", 60) == 6 and store.get_expiry("k") == now.t + 1
    now.advance(1)
    assert store.get("k") == 0 and store.get_expiry("k") == now.t
    assert store.incr("k", 60) == 1 and store.get_expiry("k") == now.t + 60
    assert store.get("other") == 0


def test_clear_and_reset(uri, now):
    store = storage_from_string(uri)
    store.incr("a", 60)
    store.incr("b", 60)
    store.clear("a")
    assert (store.get("a"), store.get("b")) == (0, 1)
    assert store.reset() == 1 and store.get("b") == 0


def test_the_library_limits_with_it(uri, now):
    limiter = FixedWindowRateLimiter(storage_from_string(uri))
    per_minute = RateLimitItemPerMinute(3)
    assert [limiter.hit(per_minute, "ip:192.0.2.1") for _ in range(4)] == [True, True, True, False]
    assert limiter.hit(per_minute, "ip:192.0.2.2")  # another client, its own counter
    now.advance(60)
    assert limiter.hit(per_minute, "ip:192.0.2.1")


def test_finished_windows_are_swept(uri, now, monkeypatch):
    monkeypatch.setattr(limit_store, "_SWEEP_EVERY", 3)
    store = storage_from_string(uri)
    store.incr("old", 10)
    now.advance(11)
    store.incr("new", 10)
    rows = lambda: [key for (key,) in store._db().execute("SELECT key FROM counter ORDER BY key")]  # noqa: E731
    assert rows() == ["new", "old"]
    store.incr("new", 10)  # the third hit sweeps
    assert rows() == ["new"]


def _hit_many(uri: str, times: int) -> None:
    """Count hits from a separate process, as a gunicorn worker would."""
    store = storage_from_string(uri)
    for _ in range(times):
        store.incr("shared", 60)


def test_processes_sharing_the_file_lose_no_hit(uri):
    parent = storage_from_string(uri)
    parent.incr("shared", 60)  # opened before the fork, as in the gunicorn master: children must reconnect
    fork = multiprocessing.get_context("fork")
    workers = [fork.Process(target=_hit_many, args=(uri, 50)) for _ in range(4)]
    for worker in workers:
        worker.start()
    _hit_many(uri, 50)
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    assert parent.get("shared") == 1 + 5 * 50


def test_the_portal_defaults_to_a_file_in_its_instance_folder(moto, tmp_path):
    app = make_test_app(tmp_path)
    assert app.config["RATELIMIT_STORAGE_URI"] == limit_store.uri_for(str(tmp_path / "instance" / "ratelimits.sqlite"))


def test_redis_replaces_the_file_when_configured(moto, tmp_path):
    app = make_test_app(tmp_path, REDIS_URL="redis://127.0.0.1:6379/0")
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"

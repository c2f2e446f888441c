"""Session ids never at rest (the store keeps a keyed hash), and a secret shown once is taken by one reader only."""

from __future__ import annotations

import re
import sqlite3
import threading

import pytest
import redis
from pages import assert_page

from app import session_store
from conftest import Person, make_test_app
from security_helpers import store, store_files_bytes

COOKIE = "mfa_portal"
SECRET = re.compile(r'<code id="new-key-secret">([A-Za-z0-9/+]{40})</code>')


@pytest.fixture(params=["sqlite", "redis"])
def store_app(request, moto, tmp_path):
    """The portal on each session store: the single-host SQLite file and shared Redis."""
    overrides = {}
    if request.param == "redis":
        overrides["REDIS_URL"] = request.getfixturevalue("redis_url")
    return make_test_app(tmp_path, **overrides)


def stored_names(app) -> list[str]:
    """Every name a session is kept under, read straight from the store (what someone with the store sees)."""
    kept = store(app)
    if isinstance(kept, session_store.RedisStore):
        return [name.decode().removeprefix(kept.prefix) for name in kept.redis.scan_iter(match="*")]
    with sqlite3.connect(kept.path) as db:
        return [row[0] for row in db.execute("SELECT sid FROM portal_session")]


def everything_stored(app) -> bytes:
    """All bytes the store holds: Redis keys and hash fields and values, or the SQLite files on disk."""
    kept = store(app)
    if isinstance(kept, session_store.RedisStore):
        chunks = []
        for name in kept.redis.scan_iter(match="*"):
            chunks.append(name)
            for field, value in kept.redis.hgetall(name).items():
                chunks += [field, value]
        return b"\n".join(chunks)
    return store_files_bytes(app)


def test_the_store_holds_no_live_cookie_and_its_names_open_nothing(store_app, make_user):
    people = [Person(store_app.test_client(), make_user(name)) for name in ("new.hire", "other.hire")]
    for person in people:
        person.sign_in()
        assert_page(person.client.get("/"), 200, f"Hello, {person.user.name}")
    cookies = [person.client.get_cookie(COOKIE).value for person in people]
    names = stored_names(store_app)
    assert len(names) == 2
    at_rest = everything_stored(store_app)
    for cookie in cookies:
        assert cookie.encode() not in at_rest
        assert cookie not in names
    # Whoever reads the store and presents a name it holds as a cookie is a stranger.
    for name in names:
        thief = store_app.test_client()
        thief.set_cookie(COOKIE, name)
        page = thief.get("/security/keys")
        assert page.status_code == 302 and "/login" in page.location
    # The owners' cookies still work: the store finds them by their hash.
    for person in people:
        assert_page(person.client.get("/security/keys"), 200, "My access keys")


def test_the_id_hash_is_keyed_by_the_secret_key():
    key = session_store.id_key("one secret")
    assert session_store.stored_id(key, "abc") == session_store.stored_id(session_store.id_key("one secret"), "abc")
    assert session_store.stored_id(key, "abc") != session_store.stored_id(session_store.id_key("another"), "abc")
    assert "abc" not in session_store.stored_id(key, "abc")


def rotated(app, make_user) -> Person:
    """A person who enrolled and just rotated their key: the new secret waits in the session, shown once."""
    person = Person(app.test_client(), make_user("new.hire"))
    person.enroll_fully()
    page = person.client.post("/security/keys/rotate", data={"profile": "long-term", **person.code_here()})
    assert page.status_code == 302 and page.location.endswith("/security/keys/new")
    return person


def test_parallel_readers_of_the_new_key_see_its_secret_at_most_once(store_app, make_user, monkeypatch):
    person = rotated(store_app, make_user)
    cookie = person.client.get_cookie(COOKIE).value
    readers = 8
    tabs = [store_app.test_client() for _ in range(readers)]
    for tab in tabs:
        tab.set_cookie(COOKIE, cookie)
    # Every reader has loaded the session (the secret in it) before any of them goes on: the worst interleaving.
    loaded = threading.Barrier(readers)
    kept = store(store_app)
    real_load = kept.load

    def load_together(sid):
        found = real_load(sid)
        loaded.wait(timeout=20)
        return found

    monkeypatch.setattr(kept, "load", load_together)
    pages = [None] * readers

    def read(i):
        pages[i] = tabs[i].get("/security/keys/new")

    threads = [threading.Thread(target=read, args=(i,)) for i in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    shown = [page for page in pages if SECRET.search(page.get_data(as_text=True))]
    assert len(shown) == 1
    assert sorted(page.status_code for page in pages) == [200] + [302] * (readers - 1)
    monkeypatch.setattr(kept, "load", real_load)
    again = person.client.get("/security/keys/new", follow_redirects=True).get_data(as_text=True)
    assert "shown only once" in again and not SECRET.search(again)


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_take_hands_a_value_to_one_of_many_concurrent_takers(kind, tmp_path, request):
    if kind == "redis":
        kept = session_store.RedisStore(redis.Redis.from_url(request.getfixturevalue("redis_url")), "t:", "k")
    else:
        kept = session_store.SqliteStore(str(tmp_path / "sessions.sqlite"), "k")
    for round_ in range(5):
        sid = f"session-{round_}"
        kept.create(sid, {"identity": "a", "once": "the secret", "other": 1}, ttl=60)
        start = threading.Barrier(8)
        got = []

        def take(sid=sid, start=start, got=got):
            start.wait(timeout=20)
            got.append(kept.take(sid, "once"))

        threads = [threading.Thread(target=take) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert got.count("the secret") == 1 and got.count(None) == 7
        assert kept.load(sid).data == {"identity": "a", "other": 1}

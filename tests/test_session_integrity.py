"""Requests in flight cannot undo a sign-out, an expiry or a dropped seed: per-key, existence-checked writes."""

from __future__ import annotations

import threading

import pytest
from moto.iam.models import IAMBackend
from pages import assert_page, assert_redirect

from app.vault import sealed_values
from conftest import Person, make_test_app
from security_helpers import store_entry

COOKIE = "mfa_portal"


@pytest.fixture(params=["sqlite", "redis"])
def store_app(request, moto, tmp_path):
    """The portal on each session store: the single-host SQLite file and shared Redis."""
    overrides = {}
    if request.param == "redis":
        overrides["REDIS_URL"] = request.getfixturevalue("redis_url")
    return make_test_app(tmp_path, **overrides)


# A page that asks AWS on every visit (the access keys page: ListAccessKeys); the home page reuses the
# device list of the last minute, so it may answer without calling AWS at all.
SLOW_PAGE = "/security/keys"


class PausedCall:
    """Hold the next ListAccessKeys inside the emulator until released, as a slow AWS would."""

    def __init__(self, monkeypatch):
        self.entered = threading.Event()
        self.release = threading.Event()
        self._armed = True
        real = IAMBackend.list_access_keys

        def slow(backend, *args, **kwargs):
            if self._armed:
                self._armed = False
                self.entered.set()
                assert self.release.wait(10), "the test never released the paused call"
            return real(backend, *args, **kwargs)

        monkeypatch.setattr(IAMBackend, "list_access_keys", slow)

    def run(self, work) -> threading.Thread:
        """Start `work` in a thread and return once it sits inside the paused call."""
        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        assert self.entered.wait(10), "the request never reached AWS"
        return thread


def second_tab(app, client):
    """Another tab of the same browser: the same session cookie, its own connection."""
    tab = app.test_client()
    tab.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return tab


def test_a_slow_page_cannot_undo_a_sign_out(store_app, make_user, monkeypatch):
    """Sign out while the home page waits for AWS: the late page must not bring the session back."""
    client = store_app.test_client()
    person = Person(client, make_user("new.hire"))
    person.enroll_fully()
    sid = client.get_cookie(COOKIE).value
    copied = second_tab(store_app, client)
    paused = PausedCall(monkeypatch)
    slow_answers = []
    thread = paused.run(lambda: slow_answers.append(copied.get(SLOW_PAGE)))

    assert_redirect(client.post("/logout"), "/login")
    assert store_entry(store_app, sid) is None
    paused.release.set()
    thread.join(10)

    assert_page(slow_answers[0], 200, "My access keys")  # the slow page itself still renders
    assert store_entry(store_app, sid) is None  # ...but it did not write the session back
    for path in ("/credentials/result", "/credentials/download", "/"):
        stale = store_app.test_client()
        stale.set_cookie(COOKIE, sid)
        answer = stale.get(path)
        assert answer.status_code == 302 and "/login" in answer.headers["Location"], path


def test_a_slow_page_cannot_bring_back_an_enabled_devices_seed(store_app, make_user, monkeypatch):
    """A page that started before verify and ends after it leaves the seed dropped."""
    client = store_app.test_client()
    person = Person(client, make_user("new.hire"))
    person.sign_in()
    person.start_enrollment()
    sid = client.get_cookie(COOKIE).value
    assert "pending_seed" in sealed_values(store_entry(store_app, sid))
    slow_tab = second_tab(store_app, client)
    paused = PausedCall(monkeypatch)
    thread = paused.run(lambda: slow_tab.get(SLOW_PAGE))

    assert_redirect(person.verify(follow=False), "/credentials")
    paused.release.set()
    thread.join(10)

    entry = store_entry(store_app, sid)
    assert entry is not None and "pending" not in entry and "pending_seed" not in sealed_values(entry)
    # The QR page is gone for good: back there, the person is sent on to the last step (a code), not shown a seed.
    assert client.get("/enroll/scan").headers["Location"].endswith("/credentials")
    home = client.get("/").get_data(as_text=True)
    assert "Continue the setup" not in home
    assert_redirect(person.get_credentials(follow=False), "/credentials/result")  # and the enrollment goes on


def test_a_late_write_after_the_idle_timeout_does_not_revive_the_session(store_app, make_user, monkeypatch):
    """An entry that expired while a request was in flight stays gone."""
    client = store_app.test_client()
    person = Person(client, make_user("new.hire"))
    person.sign_in()
    sid = client.get_cookie(COOKIE).value
    store = store_app.config["SESSION_STORE"]
    paused = PausedCall(monkeypatch)
    thread = paused.run(lambda: second_tab(store_app, client).get(SLOW_PAGE))

    store.delete(sid)  # what the store's own expiry does when the idle time runs out
    paused.release.set()
    thread.join(10)

    assert store_entry(store_app, sid) is None


def test_concurrent_requests_each_keep_their_own_change(store_app, make_user):
    """Two requests changing different keys of one session both land (no whole-session overwrite)."""
    client = store_app.test_client()
    person = Person(client, make_user("new.hire"))
    person.enroll_fully()
    sid = client.get_cookie(COOKIE).value
    store = store_app.config["SESSION_STORE"]
    ttl = store_app.permanent_session_lifetime.total_seconds()
    assert store.update(sid, {"flow:a": {"x": 1}}, set(), ttl)
    assert store.update(sid, {"flow:b": {"y": 2}}, set(), ttl)
    entry = store_entry(store_app, sid)
    assert entry["flow:a"] == {"x": 1} and entry["flow:b"] == {"y": 2}
    assert store.update(sid, {}, {"flow:a"}, ttl)
    assert "flow:a" not in store_entry(store_app, sid)
    store.delete(sid)
    assert not store.update(sid, {"flow:c": {}}, set(), ttl)
    assert store_entry(store_app, sid) is None


def test_signing_in_again_ends_the_old_session(store_app, make_user):
    """A second sign-in in the same browser starts a new id; the old id reaches nothing."""
    client = store_app.test_client()
    person = Person(client, make_user("new.hire"))
    person.sign_in()
    first = client.get_cookie(COOKIE).value
    client.post("/login", data={"access_key_id": person.user.access_key_id,
                                "secret_access_key": person.user.secret_access_key})
    second = client.get_cookie(COOKIE).value
    assert first != second
    assert store_entry(store_app, first) is None and store_entry(store_app, second) is not None


def test_a_page_that_changes_nothing_restarts_the_idle_time_only_for_a_live_session(tmp_path, clock):
    """SQLite's unchanged-page write (the idle time's restart) keeps the data and never revives an entry."""
    from app import session_store

    store = session_store.SqliteStore(str(tmp_path / "sessions.sqlite"), "test secret")
    store.create("live", {"identity": "a", "n": 1}, ttl=60)
    clock.shift(50)
    assert store.update("live", {}, set(), ttl=60) is True
    clock.shift(50)  # 100 s after creation: alive only because the unchanged page restarted the idle time
    assert store.load("live") == ({"identity": "a", "n": 1}, clock.now() + 10)  # restarted at 50 s: 60 s from then

    store.create("idle", {"identity": "b"}, ttl=60)
    clock.shift(61)
    assert store.update("idle", {}, set(), ttl=60) is False
    assert store.load("idle") is None
    store.delete("live")
    assert store.update("live", {}, set(), ttl=60) is False


def test_an_unchanged_page_restarts_the_idle_time_at_most_once_a_minute(store_app, make_user, monkeypatch):
    """A page view that changes nothing writes nothing within a minute of the last write; after it, TTL only."""
    from app import session_interface

    client = store_app.test_client()
    person = Person(client, make_user("new.hire"))
    person.sign_in()
    client.get("/")  # a first home page before counting: whatever a first visit keeps is written uncounted
    store = store_app.config["SESSION_STORE"]
    writes = []
    real_update = store.update
    monkeypatch.setattr(store, "update", lambda *args: writes.append(args[1:3]) or real_update(*args))

    page = client.get("/")
    assert page.status_code == 200 and writes == []
    assert COOKIE not in page.headers.get("Set-Cookie", "")  # the cookie's expiry moves with the entry's

    monkeypatch.setattr(session_interface, "RESTART_AFTER", 0)  # as if the last write were a minute old
    page = client.get("/")
    assert page.status_code == 200 and writes == [({}, set())]  # the idle time restarts; no data rewritten
    assert COOKIE in page.headers["Set-Cookie"]

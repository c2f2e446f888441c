"""The session cookie's flags, a fresh id at sign-in, idle and absolute timeouts, and a real sign-out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pages import assert_page, assert_redirect

from app import config as config_module
from conftest import Person, make_test_app
from security_helpers import session_id, store_entry, stored_session_ids, unsealed


def cookie_header(response) -> str:
    """The Set-Cookie header for the session cookie."""
    return next(value for value in response.headers.getlist("Set-Cookie") if value.startswith("mfa_portal="))


def test_production_cookie_is_secure_httponly_and_lax(moto, tmp_path, make_user):
    app = make_test_app(tmp_path, TESTING=False, SECRET_KEY="k" * 64)
    person = Person(app.test_client(), make_user("cookie.prod"))
    page = person.sign_in(follow=False)
    flags = [part.strip().lower() for part in cookie_header(page).split(";")]
    assert "secure" in flags
    assert "httponly" in flags
    assert "samesite=lax" in flags


def test_local_development_cookie_works_over_plain_http(client, person):
    flags = cookie_header(person.sign_in(follow=False)).lower()
    assert "httponly" in flags and "samesite=lax" in flags
    assert "secure" not in flags


def test_the_cookie_holds_only_a_random_session_id(client, person):
    person.sign_in()
    value = session_id(client)
    assert len(value) >= 40
    assert person.user.secret_access_key not in value and person.user.access_key_id not in value
    assert store_entry(client.application, value)["identity"]["user_name"] == "new.hire"


def test_sign_in_gives_a_new_session_id_and_deletes_the_old_entry(client, person, app):
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker who fixed this session"
    # Visitors get a signed cookie only: there is no server-side id an attacker could fix in advance.
    assert session_id(client) is None and session_id(client, "mfa_portal_pre") is not None
    person.sign_in()
    first = session_id(client)
    assert store_entry(app, first)["identity"]["user_name"] == person.user.name
    assert "planted" not in store_entry(app, first)
    assert session_id(client, "mfa_portal_pre") is None
    # Signing in again over a live session replaces its id and deletes the old entry.
    person.sign_in()
    second = session_id(client)
    assert second != first
    assert store_entry(app, first) is None


def test_sign_out_deletes_the_server_side_session(client, person, app):
    person.enroll_fully()
    signed_in = session_id(client)
    assert "session_credentials" in unsealed(app, store_entry(app, signed_in))  # held until sign-out
    page = client.post("/logout", follow_redirects=True)
    assert "The portal has forgotten your keys" in page.get_data(as_text=True)
    assert store_entry(app, signed_in) is None
    # Replaying the old cookie (say, copied before sign-out) reaches nothing.
    thief = app.test_client()
    thief.set_cookie("mfa_portal", signed_in)
    assert_redirect(thief.get("/credentials/result"), "/login")
    assert thief.get("/").headers["Location"].endswith("/login")


def test_idle_sessions_end_after_fifteen_minutes(client, person, app, clock):
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(minutes=15)
    person.sign_in()
    sid = session_id(client)
    for _ in range(3):  # active for 42 minutes in all: each visit starts the idle time again
        clock.shift(14 * 60)
        assert_page(client.get("/"), 200, "Hello, new.hire")
    clock.shift(16 * 60)
    page = client.get("/")
    assert page.status_code == 302 and page.headers["Location"].endswith("/login")
    assert store_entry(app, sid) is None


def test_static_files_do_not_keep_a_session_alive(client, person, app, clock):
    person.sign_in()
    sid = session_id(client)
    for _ in range(3):  # a page left open that somehow keeps fetching its stylesheet
        clock.shift(10 * 60)
        asset = client.get("/static/css/portal.css")
        assert asset.status_code == 200 and "Set-Cookie" not in asset.headers
    page = client.get("/")
    assert page.status_code == 302 and page.headers["Location"].endswith("/login")
    assert store_entry(app, sid) is None


def cookie_lifetime(client) -> timedelta:
    """How long the browser keeps the session cookie from now."""
    return client.get_cookie("mfa_portal").expires - datetime.now(UTC)


def test_the_cookie_expires_with_the_idle_timeout(client, person):
    person.sign_in()
    assert timedelta(minutes=14) < cookie_lifetime(client) <= timedelta(minutes=15)


def test_sessions_end_after_eight_hours_however_active(client, person, app, clock):
    person.enroll_fully()
    signed_in = session_id(client)
    started = store_entry(app, signed_in)["created_at"]
    for _ in range(8 * 4 - 1):  # a visit every 15 minutes (less a second) keeps the idle timeout away
        clock.shift(15 * 60 - 1)
        assert_page(client.get("/"), 200, "Hello, new.hire")
    clock.shift(started + 8 * 3600 - 60 - clock.now())
    assert_page(client.get("/credentials/result"), 200, "Your session credentials")
    clock.shift(61)
    page = client.get("/credentials/result", follow_redirects=True)
    assert "maximum length" in page.get_data(as_text=True)
    assert page.request.path == "/login"
    assert session_id(client) is None and store_entry(app, signed_in) is None
    assert_redirect(client.get("/"), "/login")


def test_timeouts_are_configurable(monkeypatch):
    monkeypatch.setenv("IDLE_TIMEOUT_MINUTES", "5")
    monkeypatch.setenv("ABSOLUTE_TIMEOUT_HOURS", "2")
    settings = config_module.from_environment()
    assert settings["IDLE_TIMEOUT"] == timedelta(minutes=5)
    assert settings["ABSOLUTE_TIMEOUT"] == timedelta(hours=2)


def test_configured_idle_timeout_reaches_store_and_cookie(moto, tmp_path, make_user, clock):
    app = make_test_app(tmp_path, IDLE_TIMEOUT=timedelta(minutes=5), ABSOLUTE_TIMEOUT=timedelta(hours=2))
    person = Person(app.test_client(), make_user("short.idle"))
    person.sign_in()
    assert timedelta(minutes=4) < cookie_lifetime(person.client) <= timedelta(minutes=5)
    clock.shift(6 * 60)
    assert_redirect(person.client.get("/"), "/login")


def test_abandoned_sessions_are_swept_from_disk(app, make_user, clock):
    leaver = Person(app.test_client(), make_user("closed.the.tab"))
    leaver.sign_in()
    abandoned = stored_session_ids(app)
    assert len(abandoned) == 1
    clock.shift(16 * 60)  # nobody signs out; the idle timeout passes
    arriving = Person(app.test_client(), make_user("next.person"))
    arriving.sign_in()
    remaining = stored_session_ids(app)
    assert len(remaining) == 1 and remaining != abandoned
    assert_page(arriving.client.get("/"), 200, "Hello, next.person")


def test_the_vault_seals_with_a_key_of_its_own_and_opens_nothing_tampered():
    from app.vault import Sealer

    sealer = Sealer("k" * 64)
    token = sealer.seal({"secret": "s" * 40})
    assert "s" * 10 not in token and sealer.seal({"secret": "s" * 40}) != token  # a fresh nonce each time
    assert sealer.unseal(token) == {"secret": "s" * 40}
    assert Sealer("other" * 13).unseal(token) is None  # a rotated SECRET_KEY forgets, never fails
    flipped = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    assert sealer.unseal(flipped) is None and sealer.unseal("not base64 !") is None and sealer.unseal(None) is None


def test_an_idle_session_may_end_up_to_a_minute_early_never_late(client, person, app, clock):
    person.sign_in()  # written: the idle time starts
    sid = session_id(client)
    clock.shift(30)
    assert_page(client.get("/"), 200, "Hello, new.hire")  # 30 s after the last write, nothing changed: not written
    clock.shift(14 * 60 + 31)  # 15:01 after the last write, 14:31 after the last visit
    page = client.get("/")
    assert page.status_code == 302 and page.headers["Location"].endswith("/login")
    assert store_entry(app, sid) is None

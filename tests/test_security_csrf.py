"""CSRF: every POST needs the session's token, a tokenless POST changes nothing, and GET never changes state."""

from __future__ import annotations

import re

import pytest
from pages import NOT_ALLOWED, assert_page, assert_redirect

from app.vault import sealed_values
from conftest import Clock, Person, code, make_test_app
from security_helpers import TokenClient, audit_actions, get_routes, post_routes, session_id, store_entry

KNOWN_POSTS = {"/login", "/logout", "/enroll/start", "/enroll/verify", "/enroll/resync", "/credentials",
               "/credentials/forget", "/device/replace"}


@pytest.fixture
def csrf_app(moto, tmp_path):
    """The portal with CSRF protection on, as in production."""
    return make_test_app(tmp_path, WTF_CSRF_ENABLED=True)


@pytest.fixture
def browser(csrf_app):
    """A browser whose POSTs carry the CSRF token the page would hold."""
    return TokenClient(csrf_app, csrf_app.test_client())


def aws_state(iam) -> list[tuple]:
    """Every virtual MFA device and who it is assigned to: what a state-changing POST would alter."""
    devices = iam.list_virtual_mfa_devices(AssignmentStatus="Any")["VirtualMFADevices"]
    return sorted((d["SerialNumber"], d.get("User", {}).get("UserName")) for d in devices)


def valid_data(person: Person, path: str) -> dict[str, str]:
    """Form values that would succeed on this route if the token were there."""
    serial = f"arn:aws:iam::123456789012:mfa/{person.user.name}"
    now, later, next_one = code(person.seed, 0), code(person.seed, 1), code(person.seed, 2)
    return {
        "/login": {"access_key_id": person.user.access_key_id, "secret_access_key": person.user.secret_access_key},
        "/enroll/verify": {"code1": now, "code2": later},
        "/enroll/resync": {"device": serial, "code1": later, "code2": next_one},
        "/credentials": {"device": serial, "code": later, "duration": "3600", "profile": "default"},
        "/device/replace": {"device": serial, "code": later},
    }.get(path, {})


def enrolled_with_credentials(browser, make_user, name: str) -> Person:
    """A person who enrolled and holds session credentials, through the real forms with tokens."""
    person = Person(browser, make_user(name))
    person.enroll_fully()
    Clock.advance(1)  # the credentials spent the next code; move on so the routes' valid data is fresh
    return person


def test_every_post_route_refuses_a_tokenless_post_and_changes_nothing(csrf_app, browser, make_user, iam):
    person = enrolled_with_credentials(browser, make_user, "csrf.victim")
    raw = browser.client
    routes = post_routes(csrf_app)
    assert KNOWN_POSTS <= set(routes)
    for path in routes:
        before = (audit_actions(csrf_app), aws_state(iam), store_entry(csrf_app, session_id(raw)))
        page = raw.post(path, data=valid_data(person, path))
        body = page.get_data(as_text=True)
        assert page.status_code == 400, path
        assert "For your safety the portal did not act on it" in body, path
        after = (audit_actions(csrf_app), aws_state(iam), store_entry(csrf_app, session_id(raw)))
        assert after == before, path
    # Still signed in with credentials: not even sign-out happened.
    assert_page(raw.get("/credentials/result"), 200, "Your session credentials")


def test_anonymous_tokenless_sign_in_is_refused(csrf_app, make_user):
    user = make_user("csrf.anon")
    raw = csrf_app.test_client()
    page = raw.post("/login", data={"access_key_id": user.access_key_id, "secret_access_key": user.secret_access_key})
    assert_page(page, 400, "This form has expired")
    assert audit_actions(csrf_app) == []
    assert raw.get("/").headers["Location"].endswith("/login")


def test_a_token_from_another_session_is_refused(csrf_app, browser, make_user, iam):
    person = Person(browser, make_user("csrf.target"))
    person.sign_in()
    attacker_app_client = csrf_app.test_client()
    foreign = TokenClient(csrf_app, attacker_app_client)
    from security_helpers import csrf_token

    stolen = csrf_token(csrf_app, attacker_app_client)
    page = browser.client.post("/enroll/start", data={"csrf_token": stolen})
    assert_page(page, 400, "This form has expired")
    assert aws_state(iam) == []
    assert_redirect(foreign.client.get("/"), "/login")  # and the token gave the attacker nothing either


def test_every_step_works_with_the_tokens_the_forms_carry(csrf_app, browser, make_user, iam):
    person = Person(browser, make_user("csrf.flow"))
    assert_page(person.sign_in(), 200, "Hello, csrf.flow")
    person.start_enrollment()
    assert "Prove it works" in person.verify().get_data(as_text=True)
    assert "Your session credentials" in person.get_credentials().get_data(as_text=True)
    Clock.advance(2)  # past the code just spent on credentials: the portal refuses a spent code on every route
    serial = "arn:aws:iam::123456789012:mfa/csrf.flow"
    page = browser.post("/enroll/resync", data={"device": serial, "code1": code(person.seed, 0),
                                                "code2": code(person.seed, 1)}, follow_redirects=True)
    assert "back in sync" in page.get_data(as_text=True)
    Clock.advance(3)
    assert_redirect(browser.post("/credentials/forget"), "/")
    page = browser.post("/device/replace", data={"device": serial, "code": code(person.seed, 0)},
                        follow_redirects=True)
    assert "Scan the new QR code" in page.get_data(as_text=True)
    assert_redirect(browser.post("/logout"), "/login")
    assert audit_actions(csrf_app) == [
        "sign_in", "device_created", "device_enabled", "credentials_issued", "enrollment_completed",
        # The current code that proves possession is recorded as the replacement's own step.
        "device_resynced", "device_replaced", "device_removed", "device_created", "sign_out"]


def test_get_requests_change_nothing(csrf_app, browser, make_user, iam):
    enrolled = enrolled_with_credentials(browser, make_user, "get.enrolled")
    pending = Person(TokenClient(csrf_app, csrf_app.test_client()), make_user("get.pending"))
    pending.sign_in()
    pending.start_enrollment()
    for person in (enrolled, pending):
        raw = person.client.client
        before = (audit_actions(csrf_app), aws_state(iam), sealed_values(store_entry(csrf_app, session_id(raw))))
        for path in get_routes(csrf_app):
            assert raw.get(path).status_code < 500, path
        after = (audit_actions(csrf_app), aws_state(iam), sealed_values(store_entry(csrf_app, session_id(raw))))
        assert after == before
    assert_page(enrolled.client.client.get("/logout"), 405, NOT_ALLOWED)
    assert_page(enrolled.client.client.get("/credentials/result"), 200, "Your session credentials")


def test_https_forms_work_without_a_referer(moto, tmp_path, make_user):
    """The portal sends no Referer (no-referrer policy), so CSRF must not depend on one over HTTPS."""
    app = make_test_app(tmp_path, TESTING=False, SECRET_KEY="c" * 64, WTF_CSRF_ENABLED=True)
    raw = app.test_client()
    user = make_user("https.user")
    form = raw.get("/login", base_url="https://portal.example.com").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    page = raw.post("/login", base_url="https://portal.example.com", data={
        "csrf_token": token, "access_key_id": user.access_key_id, "secret_access_key": user.secret_access_key})
    assert page.status_code == 302, page.get_data(as_text=True)[:300]
    assert audit_actions(app) == ["sign_in"]


def test_a_post_the_browser_marks_cross_site_is_refused_even_with_a_token(csrf_app, browser, make_user, iam):
    person = Person(browser, make_user("fetch.metadata"))
    person.sign_in()
    for site in ("cross-site", "same-site"):
        page = browser.post("/enroll/start", headers={"Sec-Fetch-Site": site})
        assert page.status_code == 400
        assert "For your safety the portal did not act on it" in page.get_data(as_text=True)
    assert aws_state(iam) == []
    assert_redirect(browser.post("/enroll/start", headers={"Sec-Fetch-Site": "same-origin"}), "/enroll/scan")
    assert len(aws_state(iam)) == 1

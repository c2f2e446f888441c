"""Production takes keys only over HTTPS, from loopback, or through a TLS proxy it was told to trust."""

from __future__ import annotations

import pytest
from pages import assert_redirect

from app.models import AuditEvent
from conftest import Person, make_test_app
from security_helpers import HttpsClient, TokenClient, outcomes, tour

SECRET_KEY = "p" * 64


def production(tmp_path, **overrides):
    """The portal as deployed: not testing, not demo, with a secret key."""
    return make_test_app(tmp_path, TESTING=False, SECRET_KEY=SECRET_KEY, **overrides)


def sign_in(app, user, base_url="http://127.0.0.1", remote="127.0.0.1", headers=None):
    """Post the sign-in form from `remote` to `base_url`; return the response and the client."""
    browser = app.test_client()
    page = browser.post("/login", base_url=base_url, headers=headers or {},
                        environ_overrides={"REMOTE_ADDR": remote},
                        data={"access_key_id": user.access_key_id, "secret_access_key": user.secret_access_key})
    return page, browser


def assert_refused(app, page, browser):
    """The keys were turned away with the reason, and nobody got signed in."""
    assert page.status_code == 400
    assert "This connection is not encrypted" in page.get_data(as_text=True)
    with app.app_context():
        event = outcomes().filter_by(action="sign_in").one()
    assert (event.outcome, event.detail) == ("refused", '{"reason": "plain http"}')
    assert_redirect(browser.get("/", base_url="https://portal.example.com"), "/login")


@pytest.mark.parametrize("base_url", ["http://127.0.0.1", "http://localhost:5000", "http://[::1]:8000", "http://[::1]"])
def test_loopback_over_plain_http_is_allowed(moto, tmp_path, make_user, base_url):
    app = production(tmp_path)
    page, _ = sign_in(app, make_user("loop"), base_url=base_url, remote="::1" if "::1" in base_url else "127.0.0.1")
    assert_redirect(page, "/")


@pytest.mark.parametrize("base_url, remote", [
    ("http://portal.example.com", "203.0.113.9"),
    ("http://127.0.0.1", "203.0.113.9"),  # a forged Host header does not make a remote visitor local
    ("http://portal.example.com", "127.0.0.1"),  # a local proxy without PROXY_HOPS: the browser used plain HTTP
])
def test_other_plain_http_sign_ins_are_refused(moto, tmp_path, make_user, base_url, remote):
    app = production(tmp_path)
    page, browser = sign_in(app, make_user("plain"), base_url=base_url, remote=remote)
    assert_refused(app, page, browser)


def test_the_sign_in_page_warns_before_keys_are_typed(moto, tmp_path):
    app = production(tmp_path)
    page = app.test_client().get("/login", base_url="http://portal.example.com",
                                 environ_overrides={"REMOTE_ADDR": "203.0.113.9"})
    assert page.status_code == 200
    assert "This connection is not encrypted" in page.get_data(as_text=True)


def test_direct_https_is_allowed(moto, tmp_path, make_user):
    app = production(tmp_path)
    page, _ = sign_in(app, make_user("tls"), base_url="https://portal.example.com", remote="203.0.113.9")
    assert_redirect(page, "/")


def test_forwarded_proto_is_honoured_behind_one_trusted_proxy(moto, tmp_path, make_user):
    app = production(tmp_path, PROXY_HOPS=1)
    page, _ = sign_in(app, make_user("proxied"), base_url="http://portal.internal", remote="10.0.0.2",
                      headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9",
                               "X-Forwarded-Host": "portal.example.com"})
    assert_redirect(page, "/")
    assert "Strict-Transport-Security" in page.headers
    with app.app_context():
        assert outcomes().filter_by(action="sign_in").one().source_ip == "203.0.113.9"


def test_forwarded_proto_is_ignored_without_proxy_hops(moto, tmp_path, make_user):
    app = production(tmp_path)
    page, browser = sign_in(app, make_user("spoofer"), base_url="http://portal.example.com", remote="203.0.113.9",
                            headers={"X-Forwarded-Proto": "https"})
    assert_refused(app, page, browser)


def test_proxy_without_forwarded_proto_is_plain_http(moto, tmp_path, make_user):
    app = production(tmp_path, PROXY_HOPS=1)
    page, browser = sign_in(app, make_user("plainproxy"), base_url="http://portal.internal", remote="10.0.0.2",
                            headers={"X-Forwarded-Proto": "http", "X-Forwarded-For": "203.0.113.9"})
    assert_refused(app, page, browser)


def test_allow_insecure_http_is_an_explicit_choice(moto, tmp_path, make_user):
    app = production(tmp_path, ALLOW_INSECURE_HTTP=True)
    page, _ = sign_in(app, make_user("lab"), base_url="http://portal.lab", remote="192.0.2.5")
    assert_redirect(page, "/")
    assert "secure" not in page.headers["Set-Cookie"].lower().split("; ")


def test_production_without_a_secret_key_does_not_start(moto, tmp_path):
    from app.setup import ConfigurationError

    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        make_test_app(tmp_path, TESTING=False)


def test_the_whole_journey_works_as_deployed(moto, tmp_path, make_user, monkeypatch):
    """Production settings, CSRF on, HTTPS, no Referer: every flow and error page still works."""
    app = production(tmp_path, WTF_CSRF_ENABLED=True)
    app.test_client_class = HttpsClient
    raw = app.test_client()
    tour(Person(TokenClient(app, raw), make_user("deployed")), monkeypatch)
    with app.app_context():
        events = [(e.action, e.outcome) for e in outcomes().order_by(AuditEvent.id)]
    assert events == [
        ("sign_in", "failure"), ("sign_in", "success"), ("device_created", "success"),
        ("device_enabled", "failure"), ("device_enabled", "success"),
        ("credentials_issued", "failure"), ("credentials_issued", "success"), ("enrollment_completed", "success"),
        ("device_resynced", "success"), ("credentials_issued", "success"),
        ("device_replaced", "success"), ("device_removed", "success"), ("device_created", "success"),
        ("device_enabled", "success"),
        ("credentials_issued", "success"), ("enrollment_completed", "success"), ("sign_out", "success")]
    assert {r.status_code for r in raw.responses} >= {200, 302, 400, 401, 404, 405, 500, 503}
    assert all("Strict-Transport-Security" in r.headers for r in raw.responses)
    assert all("secure" in c.lower() for r in raw.responses for c in r.headers.getlist("Set-Cookie"))

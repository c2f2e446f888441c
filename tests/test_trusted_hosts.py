"""Trusted hosts: with PORTAL_HOSTS set, any other Host or forwarded host is a 400 page, never a redirect to it."""

from __future__ import annotations

import pytest
from pages import SIGN_IN, assert_page

from conftest import make_test_app

PORTAL = "portal.example.com"


@pytest.fixture
def guarded(moto, tmp_path):
    """The portal set up for one host name, and trusting one proxy hop."""
    return make_test_app(tmp_path, PORTAL_HOSTS=[PORTAL], PROXY_HOPS=1, PROPAGATE_EXCEPTIONS=False)


def assert_refused(page) -> None:
    """The portal's own 400 page, with its usual headers and no trace of the refused host."""
    body = page.get_data(as_text=True)
    assert page.status_code == 400, body[:500]
    assert "This portal does not answer to that address" in body
    assert "evil.example" not in body and "Location" not in page.headers
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"


def test_a_foreign_host_header_is_refused(guarded):
    assert_refused(guarded.test_client().get("/admin", headers={"Host": "evil.example"}))
    assert_refused(guarded.test_client().get("/login", headers={"Host": "evil.example:443"}))


def test_a_foreign_forwarded_host_is_refused(guarded):
    page = guarded.test_client().get("/admin", headers={"Host": PORTAL, "X-Forwarded-Host": "evil.example"})
    assert_refused(page)


def test_the_portal_host_still_redirects_to_itself(guarded):
    client = guarded.test_client()
    assert client.get("/admin", headers={"Host": PORTAL}).headers["Location"] == f"http://{PORTAL}/admin/"
    forwarded = client.get("/admin", headers={"Host": "10.0.0.5:8000", "X-Forwarded-Host": PORTAL,
                                              "X-Forwarded-Proto": "https"})
    assert forwarded.headers["Location"] == f"https://{PORTAL}/admin/"
    assert_page(client.get("/login", headers={"Host": PORTAL}), 200, SIGN_IN)


def test_without_portal_hosts_any_host_works_for_development(app):
    assert app.config["TRUSTED_HOSTS"] is None
    assert_page(app.test_client().get("/login", base_url="http://localhost:5000"), 200, SIGN_IN)


def test_portal_hosts_is_a_comma_list_from_the_environment(monkeypatch):
    from app.config import from_environment, portal_hosts

    monkeypatch.setenv("PORTAL_HOSTS", "portal.example.com, .portal.example.org")
    assert from_environment()["PORTAL_HOSTS"] == portal_hosts() == ["portal.example.com", ".portal.example.org"]


def test_the_refusal_speaks_the_visitors_language(guarded):
    page = guarded.test_client().get("/login", headers={"Host": "evil.example", "Accept-Language": "ja"})
    body = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "このポータルはそのアドレスでは応答しません" in body and "管理者から案内されたアドレス" in body

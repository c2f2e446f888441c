"""Rate limiting with its Redis cut off: sign-ins and code checks fail closed with the 503 page, reads go on."""

from __future__ import annotations

import time

import pytest
from pages import SIGN_IN, assert_page, assert_redirect

from app.services import identity
from conftest import Person, make_test_app

pytestmark = pytest.mark.services

# Issue 7: every outage gets the portal's own page within 3 s.
OUTAGE_ANSWER_SECONDS = 3


@pytest.fixture
def proxied(moto, tmp_path, redis_url, tcp_proxy):
    """The portal counting attempts in Redis through a proxy the test can cut; sessions stay in files."""
    proxy = tcp_proxy(6379)
    limits_url = redis_url.replace("127.0.0.1:6379", proxy.url_host)
    app = make_test_app(tmp_path, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=limits_url)
    return app, proxy


def timed_post(client, path: str, data: dict):
    """POST and return (page, seconds it took)."""
    started = time.monotonic()
    page = client.post(path, data=data)
    return page, time.monotonic() - started


def assert_paused(page, seconds: float, words: str) -> str:
    """The portal's own 503 page, with its headers, a retry time and the reason in plain words."""
    body = page.get_data(as_text=True)
    assert page.status_code == 503, body[:500]
    assert words in body and "Paused for a moment" in body
    assert int(page.headers["Retry-After"]) > 0
    assert page.headers["Cache-Control"] == "no-store" and "default-src 'self'" in page.headers[
        "Content-Security-Policy"]
    assert "Traceback" not in body and "6379" not in body and "redis" not in body.lower()
    assert seconds < OUTAGE_ANSWER_SECONDS
    return body


@pytest.mark.parametrize("mode", ["refuse", "blackhole"])
def test_sign_in_and_code_checks_fail_closed_and_reads_go_on(proxied, make_user, aws_calls, mode):
    app, proxy = proxied
    enrolled = Person(app.test_client(), make_user("enrolled"))
    enrolled.enroll_fully()
    newcomer = Person(app.test_client(), make_user("newcomer"))
    proxy.cut(mode)
    aws_calls.clear()
    keys = {"access_key_id": newcomer.user.access_key_id, "secret_access_key": newcomer.user.secret_access_key}
    page, seconds = timed_post(newcomer.client, "/login", keys)
    assert "Sign-in is paused" in assert_paused(page, seconds, "cannot count failed attempts")
    serial = "arn:aws:iam::123456789012:mfa/enrolled"
    page, seconds = timed_post(enrolled.client, "/credentials", {"device": serial, "code": "123456",
                                                                  "duration": "3600", "profile": "default"})
    assert "Code checks and admin actions are paused" in assert_paused(page, seconds, "sent nothing to AWS")
    assert aws_calls == []  # neither the keys nor the code reached AWS
    # Pages that only read are not limited, so they do not need the counters.
    assert_page(enrolled.client.get("/"), 200, f"Hello, {enrolled.user.name}")
    assert_page(enrolled.client.get("/credentials"), 200, "Get session credentials")
    assert_page(newcomer.client.get("/login"), 200, SIGN_IN)
    # Back without a restart: the same portal counts again.
    proxy.heal()
    assert_redirect(newcomer.sign_in(follow=False), "/")


def test_a_failure_that_cannot_be_counted_is_not_shown_as_a_plain_failure(proxied, make_user, monkeypatch):
    app, proxy = proxied
    user = make_user("unlucky")
    real_identify = identity.identify

    def identify_then_lose_redis(keys, settings):
        """AWS answers (here: wrong secret), and Redis goes away while it does."""
        try:
            return real_identify(keys, settings)
        finally:
            proxy.cut("refuse")

    monkeypatch.setattr(identity, "identify", identify_then_lose_redis)
    page, seconds = timed_post(app.test_client(), "/login", {"access_key_id": user.access_key_id,
                                                             "secret_access_key": "w" * 40})
    assert_paused(page, seconds, "Sign-in is paused")
    assert "did not accept these keys" not in page.get_data(as_text=True)

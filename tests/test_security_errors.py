"""Every error is a calm page with a next step and no internals; redirects after sign-in stay on the portal."""

from __future__ import annotations

import io
import logging

import pytest

from app import aws
from app.errors import AwsAccessDenied, AwsError, AwsUnavailable
from app.redirects import safe_next
from conftest import Person, make_test_app

INTERNALS = ("Traceback", 'File "', "botocore", "werkzeug", "sqlalchemy", "RuntimeError", "Exception",
             "app/", ".py", "Internal Server Error", "Bad Request", "The browser (or proxy)")


def assert_friendly(page, status: int, *words: str) -> str:
    """The page has the status, the portal's layout, a next step and nothing from the inside."""
    body = page.get_data(as_text=True)
    assert page.status_code == status, body[:500]
    assert page.mimetype == "text/html"
    assert f"Error {status}" in body
    assert "Next step" in body
    assert "Back to the start" in body
    for internal in INTERNALS:
        assert internal not in body, internal
    for word in words:
        assert word in body, word
    return body


def fail_with(error: Exception):
    """A stand-in that always raises `error`."""

    def fail(*_args, **_kwargs):
        raise error

    return fail


@pytest.fixture
def production_app(moto, tmp_path):
    """The portal as deployed (exceptions are never propagated to the server)."""
    return make_test_app(tmp_path, TESTING=False, SECRET_KEY="e" * 64)


def test_not_found(client):
    assert_friendly(client.get("/etc/passwd"), 404, "There is no page here")


def test_method_not_allowed(client):
    assert_friendly(client.get("/logout"), 405, "Use the buttons on the page")


def test_missing_csrf_token(moto, tmp_path):
    page = make_test_app(tmp_path, WTF_CSRF_ENABLED=True).test_client().post("/login")
    assert_friendly(page, 400, "This form has expired", "did not act on it")


def test_file_uploads_are_refused_not_crashed_on(client):
    page = client.post("/login", content_type="multipart/form-data",
                       data={"access_key_id": (io.BytesIO(b"AKIA"), "keys.csv"), "secret_access_key": "x"})
    assert_friendly(page, 400, "does not take file uploads")


def test_oversized_requests_are_refused_before_parsing(client):
    page = client.post("/login", data={"access_key_id": "A" * 100_000, "secret_access_key": "x"})
    assert_friendly(page, 413, "more than the form can take")


def test_too_many_attempts(moto, tmp_path):
    browser = make_test_app(tmp_path, RATELIMIT_ENABLED=True).test_client()
    pages = [browser.post("/login", data={"access_key_id": "x", "secret_access_key": "y"}) for _ in range(11)]
    assert_friendly(pages[-1], 429, "Too many failed sign-ins", "You can try again in")


def test_aws_denial(client, person, monkeypatch):
    person.sign_in(follow=False)  # home not yet shown, so it asks AWS for the devices
    monkeypatch.setattr(aws, "call", fail_with(AwsAccessDenied("iam:ListMFADevices")))
    assert_friendly(client.get("/"), 403, "iam:ListMFADevices", "Ask an AWS administrator")


def test_unexpected_aws_answer_shows_the_code_not_the_message(client, person, monkeypatch):
    person.sign_in(follow=False)
    monkeypatch.setattr(aws, "call", fail_with(AwsError("WeirdFault", "secret-ish detail from AWS", "ListMFADevices")))
    body = assert_friendly(client.get("/"), 502, "WeirdFault")
    assert "secret-ish detail" not in body


def test_aws_unavailable_says_try_again_with_retry_after(client, person, monkeypatch):
    person.sign_in(follow=False)
    monkeypatch.setattr(aws, "call", fail_with(AwsUnavailable()))
    page = client.get("/")
    assert_friendly(page, 503, "AWS is not answering", "try again", "nothing was lost")
    assert int(page.headers["Retry-After"]) > 0


def test_a_bug_is_logged_but_not_shown(production_app, make_user, monkeypatch, caplog):
    person = Person(production_app.test_client(), make_user("bug.finder"))
    person.sign_in(follow=False)
    monkeypatch.setattr(aws, "call", fail_with(RuntimeError("internal detail 7f3a")))
    with caplog.at_level(logging.ERROR, logger="app"):
        page = person.client.get("/")
    body = assert_friendly(page, 500, "Something went wrong on our side")
    assert "7f3a" not in body
    assert "internal detail 7f3a" in caplog.text  # the operator can still find the bug


def test_production_never_runs_the_debugger(production_app):
    assert production_app.debug is False
    assert production_app.config["PROPAGATE_EXCEPTIONS"] in (None, False)


@pytest.mark.parametrize("target", [
    "/credentials", "/enroll/scan?x=1", "/credentials/result#ini",
])
def test_local_paths_are_accepted_as_next(target):
    assert safe_next(target) == target


@pytest.mark.parametrize("target", [
    None, "", "//evil.example", "///evil.example", "https://evil.example/", "http:/evil.example",
    "/\\evil.example", "\\\\evil.example", "/\\/evil.example", "javascript:alert(1)", "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>", "evil.example", " /credentials", "/\t/evil.example",
    "/\n/evil.example", "/\r\nLocation: https://evil.example", "/\x00", "//evil.example/%2F..",
    "mailto:a@evil.example", "credentials",
])
def test_anything_else_is_refused_as_next(target):
    assert safe_next(target) is None


def test_a_hostile_next_lands_on_the_home_page(client, person):
    page = client.post("/login?next=%2F%5Cevil.example", data={
        "access_key_id": person.user.access_key_id, "secret_access_key": person.user.secret_access_key})
    assert page.status_code == 302
    assert page.headers["Location"] == "/"

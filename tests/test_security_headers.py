"""Security headers on every response, no caching of anything personal, and markup the CSP can enforce."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from app import ROOT
from conftest import Person, make_test_app
from security_helpers import RecordingClient, TokenClient, tour


@pytest.fixture
def toured(moto, tmp_path, make_user, monkeypatch):
    """An app and every response of a walk through every flow and error page, CSRF on."""
    app = make_test_app(tmp_path, WTF_CSRF_ENABLED=True)
    app.test_client_class = RecordingClient
    raw = app.test_client()
    tour(Person(TokenClient(app, raw), make_user("tourist")), monkeypatch)
    return app, raw.responses


def csp(response) -> dict[str, list[str]]:
    """The Content-Security-Policy header as directive -> sources."""
    header = response.headers.get("Content-Security-Policy", "")
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_the_tour_met_every_kind_of_page(toured):
    _app, responses = toured
    statuses = {r.status_code for r in responses}
    assert {200, 302, 400, 401, 404, 405, 500, 503} <= statuses
    assert any(b'<svg viewBox=' in r.get_data() for r in responses if r.mimetype == "text/html")  # the inline QR
    assert any("attachment" in r.headers.get("Content-Disposition", "") for r in responses)


def test_every_response_carries_the_security_headers(toured):
    _app, responses = toured
    for response in responses:
        where = f"{response.request.method} {response.request.path} -> {response.status_code}"
        policy = csp(response)
        assert policy["script-src"] == ["'self'"], where
        assert policy["default-src"] == ["'self'"], where
        assert policy["frame-ancestors"] == ["'none'"], where
        assert policy["object-src"] == ["'none'"], where
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"], where
        assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"], where
        assert response.headers["X-Content-Type-Options"] == "nosniff", where
        assert response.headers["Referrer-Policy"] == "no-referrer", where
        assert response.headers["X-Frame-Options"] == "DENY", where
        assert "Strict-Transport-Security" not in response.headers, where  # plain HTTP: HSTS means nothing


def test_nothing_personal_is_ever_cached(toured):
    _app, responses = toured
    for response in responses:
        assert response.headers["Cache-Control"] == "no-store", f"{response.request.path} {response.status_code}"


def test_hsts_is_sent_over_https(moto, tmp_path):
    app = make_test_app(tmp_path)
    page = app.test_client().get("/login", base_url="https://portal.example.com")
    max_age = re.match(r"max-age=(\d+)", page.headers["Strict-Transport-Security"]).group(1)
    assert int(max_age) >= 365 * 24 * 3600
    error = app.test_client().get("/nope", base_url="https://portal.example.com")
    assert error.status_code == 404
    assert "Strict-Transport-Security" in error.headers


class _Markup(HTMLParser):
    """Collect what a strict CSP would block: inline scripts, handlers, style attributes and blocks."""

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []
        self.forms: list[dict] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name == "style":
                self.problems.append(f"<{tag} style=...>")
            if value and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:...>")
        if tag == "style":
            self.problems.append("<style> block")
        if tag == "script":
            if "src" not in names:
                self.problems.append("inline <script>")
        if tag == "form":
            self.forms.append({"method": (names.get("method") or "get").lower(), "token": False})
        if tag == "input" and names.get("name") == "csrf_token" and self.forms:
            self.forms[-1]["token"] = True


def markup_problems(html: str) -> tuple[list[str], list[dict]]:
    """Parse a page and return what the CSP would block, and its forms."""
    parser = _Markup()
    parser.feed(html)
    return parser.problems, parser.forms


def test_rendered_pages_need_no_inline_script_or_style_and_post_forms_carry_a_token(toured):
    _app, responses = toured
    pages = [r for r in responses if r.mimetype == "text/html" and r.get_data()]
    assert len(pages) > 20
    post_forms = 0
    for page in pages:
        problems, forms = markup_problems(page.get_data(as_text=True))
        assert problems == [], page.request.path
        for form in forms:
            if form["method"] == "post":
                post_forms += 1
                assert form["token"], page.request.path
    assert post_forms > 10


TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: str(path.relative_to(ROOT / "templates")))
def test_templates_have_no_inline_script_handlers_or_styles(template: Path):
    source = template.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", source, re.I), "inline <script> block"
    assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", source, re.I), "on* event handler attribute"
    # E-mails are read in mail clients, which drop <style> blocks and know no CSP: their styles are inline.
    if template.parent.name != "mail":
        assert not re.search(r"<style\b", source, re.I), "<style> block"
        assert not re.search(r"<[a-z][^>]*\sstyle\s*=", source, re.I), "style= attribute"
    assert not re.search(r"javascript:", source, re.I), "javascript: URL"
    assert "|safe" not in source and "Markup(" not in source, "autoescaping switched off"
    for form in re.findall(r"<form\b[^>]*method=\"post\".*?</form>", source, re.I | re.S):
        assert "csrf_token" in form, "POST form without a CSRF token"


def test_templates_are_all_found():
    assert len(TEMPLATES) >= 10

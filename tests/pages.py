"""What a page says, not only its status: the portal's error pages and where a redirect leads."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# The titles of the portal's own error pages (app/error_pages.py), as a person reads them.
NOT_FOUND = "There is no page here"
BAD_REQUEST = "That request could not be understood"
FORBIDDEN = "You do not have access to this page"
NOT_ALLOWED = "That action is not possible here"
AWS_AWAY = "AWS is not answering"
TOO_MANY = "Too many attempts"
# The sign-in page's heading (templates/auth/login.html).
SIGN_IN = "Set up MFA and get AWS credentials"


def assert_page(page, status: int, *words: str) -> None:
    """Assert the status, and that the page says each of these words."""
    body = _body(page)
    assert page.status_code == status, body[:500]
    for said in words:
        assert said in body, f"{said!r} not on the page, whose heading is {_heading(body)!r}"


def assert_redirect(page, path: str, *words: str, client=None) -> None:
    """Assert a redirect to this path (its query left aside); with words, that the page it leads to says them."""
    assert page.status_code == 302, _body(page)[:500]
    assert urlsplit(page.headers["Location"]).path == path, page.headers["Location"]
    if words:
        assert client is not None, "name the client that follows the redirect"  # the flash is in its session
        assert_page(client.get(page.headers["Location"]), 200, *words)


def _body(page) -> str:
    """The page's text, from a Flask test response or a `requests` response (a portal in a process of its own)."""
    return page.get_data(as_text=True) if hasattr(page, "get_data") else page.text


def _heading(body: str) -> str:
    """The page's first heading, to show what it said instead."""
    found = re.search(r"<h1[^>]*>(.*?)</h1>", body, re.S)
    return found.group(1).strip() if found else body[:300]

"""Static files: URLs carry a content hash, browsers keep those for a year, and no session is opened for them."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import unquote

from pages import NOT_FOUND, assert_page

from app import ROOT


def fetch(client, url: str):
    """GET a URL and close the response (a file response holds the file open until then)."""
    with client.get(url) as answer:
        answer.get_data()
    return answer


def static_urls(page) -> list[str]:
    """The static URLs a page links to."""
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', page.get_data(as_text=True))


def test_pages_link_static_files_by_content_hash(client):
    urls = static_urls(client.get("/login"))
    assert {url.split("?")[0] for url in urls} >= {"/static/css/portal.css", "/static/js/portal.js"}
    for url in urls:
        path, version = re.fullmatch(r"/static/([^?]+)\?v=([0-9a-f]{12})", url).groups()
        assert version == hashlib.sha256((ROOT / "static" / path).read_bytes()).hexdigest()[:12]


def test_versioned_files_are_cached_for_a_year_others_revalidate(client):
    versioned = next(url for url in static_urls(client.get("/login")) if "portal.css" in url)
    cached = fetch(client, versioned)
    assert cached.status_code == 200
    assert set(cached.headers["Cache-Control"].split(", ")) == {"public", "max-age=31536000", "immutable"}
    for url in ("/static/css/portal.css", "/static/css/portal.css?v=0123456789ab"):  # no or a stale version
        answer = fetch(client, url)
        assert answer.status_code == 200 and "immutable" not in answer.headers["Cache-Control"], url
        assert "no-cache" in answer.headers["Cache-Control"], url


def test_static_requests_open_no_session(app, client, person, monkeypatch):
    person.sign_in()
    opened = []
    store = app.session_interface.store
    real_load = store.load
    monkeypatch.setattr(store, "load", lambda *args: opened.append(args) or real_load(*args))
    url = static_urls(client.get("/"))[0]
    pages = len(opened)
    assert pages == 1  # the page itself read the signed-in session
    answer = fetch(client, url)
    assert answer.status_code == 200 and "Set-Cookie" not in answer.headers
    assert_page(client.get("/static/missing.css"), 404, NOT_FOUND)  # the error page renders without a session too
    assert len(opened) == pages
    assert "Sign out" in client.get("/").get_data(as_text=True)  # and the session is still there


def test_the_icon_is_written_into_the_page_and_only_images_may_be_data_urls(client):
    page = client.get("/login")
    html = page.get_data(as_text=True)
    href = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html).group(1)
    assert href.startswith("data:image/svg+xml,%3Csvg") and "%23ffb000" in href  # '#' encoded, or it cuts the URL
    assert unquote(href.removeprefix("data:image/svg+xml,")) == (ROOT / "static" / "favicon.svg").read_text().strip()
    policy = dict(part.strip().split(" ", 1) for part in page.headers["Content-Security-Policy"].split(";") if part)
    assert policy["img-src"] == "'self' data:"
    assert "data:" not in policy["script-src"] + policy["style-src"] + policy["default-src"]

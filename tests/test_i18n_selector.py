"""The language of a page: the switcher's cookie, else Accept-Language, else English; and the headers saying so."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from app import i18n
from conftest import make_test_app
from security_helpers import stored_session_ids

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def catalogs(tmp_path_factory) -> Path:
    """Compile the .po files now, so these tests read this checkout's catalogs, never a stale .mo."""
    out = tmp_path_factory.mktemp("translations")
    for po_path in (ROOT / "translations").glob("*/LC_MESSAGES/messages.po"):
        language = po_path.parent.parent.name
        with open(po_path, "rb") as po:
            entries = read_po(po, locale=language)
        (out / language / "LC_MESSAGES").mkdir(parents=True)
        with open(out / language / "LC_MESSAGES" / "messages.mo", "wb") as mo:
            write_mo(mo, entries)
    return out


@pytest.fixture
def app(moto, tmp_path, catalogs):
    """The portal reading the freshly compiled catalogs."""
    return make_test_app(tmp_path, BABEL_TRANSLATION_DIRECTORIES=str(catalogs))


def html_lang(page) -> str:
    """The lang attribute of the page's <html> element."""
    return re.search(r'<html lang="([^"]+)">', page.get_data(as_text=True)).group(1)


@pytest.mark.parametrize(("header", "expected"), [
    (None, "en"),
    ("ja", "ja"),
    ("ja-JP", "ja"),
    ("ja-JP,ja;q=0.9,en-US;q=0.8,en;q=0.7", "ja"),
    ("en-US,en;q=0.9,ja;q=0.8", "en"),
    ("en;q=0.5, ja;q=0.9", "ja"),
    ("fr-FR,fr;q=0.9", "en"),
    ("fr, ja;q=0.3", "ja"),
    ("*", "en"),
])
def test_accept_language_picks_the_best_of_english_and_japanese(client, header, expected):
    page = client.get("/login", headers={"Accept-Language": header} if header else {})
    assert page.status_code == 200
    assert html_lang(page) == expected
    assert page.headers["Content-Language"] == expected


def test_a_japanese_browser_gets_a_japanese_sign_in_page(client):
    body = client.get("/login", headers={"Accept-Language": "ja-JP"}).get_data(as_text=True)
    assert "サインイン" in body and "アクセスキー" in body
    assert "Sign in with the IAM access key pair" not in body


def test_pages_say_they_vary_by_language_and_cookie(client):
    page = client.get("/login", headers={"Accept-Language": "ja"})
    vary = {part.strip().lower() for part in page.headers["Vary"].split(",")}
    assert {"accept-language", "cookie"} <= vary


def test_error_pages_are_translated_too(client):
    page = client.get("/no-such-page", headers={"Accept-Language": "ja"})
    assert page.status_code == 404
    assert html_lang(page) == "ja" and page.headers["Content-Language"] == "ja"


def test_static_files_carry_no_language_headers(client):
    asset = client.get("/static/css/portal.css", headers={"Accept-Language": "ja"})
    assert asset.status_code == 200
    assert "Content-Language" not in asset.headers


def test_every_page_offers_both_languages_each_named_in_itself(client):
    body = client.get("/login").get_data(as_text=True)
    switcher = re.search(r'<form method="post" action="/language".*?</form>', body, re.S).group(0)
    assert 'name="csrf_token"' in switcher
    assert re.search(r'value="en" lang="en"[^>]*aria-current="true" disabled>English<', switcher)
    assert re.search(r'value="ja" lang="ja"[^>]*>日本語<', switcher)
    assert 'name="next" value="/login"' in switcher


def test_the_switcher_returns_to_the_page_without_its_query_or_an_error_address(client):
    login = client.get("/login?next=/admin/users/someone").get_data(as_text=True)
    assert 'name="next" value="/login"' in login and "someone" not in login.split('class="lang-switch"')[1][:600]
    missing = client.get("/no-such/secret-name").get_data(as_text=True)
    assert 'name="next"' not in missing and "secret-name" not in missing


def test_switching_sets_a_cookie_that_beats_accept_language(client):
    answer = client.post("/language", data={"lang": "ja", "next": "/login"})
    assert answer.status_code == 303 and answer.headers["Location"] == "/login"
    cookie = next(c for c in answer.headers.getlist("Set-Cookie") if c.startswith("lang="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert cookie.startswith("lang=ja;") and {"httponly", "max-age", "path"} <= attributes
    assert "samesite=lax" in cookie.lower()
    page = client.get("/login", headers={"Accept-Language": "en-US"})
    assert html_lang(page) == "ja" and "サインイン" in page.get_data(as_text=True)
    client.post("/language", data={"lang": "en", "next": "/login"})
    assert html_lang(client.get("/login", headers={"Accept-Language": "ja"})) == "en"


def test_switching_keeps_nothing_on_the_server_before_sign_in(client, app):
    before = stored_session_ids(app)
    answer = client.post("/language", data={"lang": "ja", "next": "/login"})
    assert [c.split("=")[0] for c in answer.headers.getlist("Set-Cookie")] == ["lang"]
    assert stored_session_ids(app) == before == []


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "login", None])
def test_switching_goes_back_only_to_a_local_page(client, target):
    answer = client.post("/language", data={"lang": "ja", **({"next": target} if target else {})})
    assert answer.status_code == 303 and answer.headers["Location"] == "/"


@pytest.mark.parametrize("choice", ["fr", "", "ja-JP", "../ja"])
def test_unknown_languages_are_refused(client, choice):
    answer = client.post("/language", data={"lang": choice, "next": "/login"})
    assert answer.status_code == 400
    assert not any(c.startswith("lang=") for c in answer.headers.getlist("Set-Cookie"))


def test_a_forged_cookie_falls_back_to_accept_language(client):
    client.set_cookie("lang", "xx")
    assert html_lang(client.get("/login", headers={"Accept-Language": "ja"})) == "ja"
    assert html_lang(client.get("/login")) == "en"


def test_the_switcher_needs_the_csrf_token(moto, tmp_path, catalogs):
    app = make_test_app(tmp_path, WTF_CSRF_ENABLED=True, BABEL_TRANSLATION_DIRECTORIES=str(catalogs))
    answer = app.test_client().post("/language", data={"lang": "ja", "next": "/login"})
    assert answer.status_code == 400
    assert not any(c.startswith("lang=") for c in answer.headers.getlist("Set-Cookie"))


@pytest.mark.parametrize(("language", "moment", "day", "length"), [
    ("en", "Dec 1, 2026 22:05 UTC", "Dec 1, 2026", "11 hours 58 minutes"),
    ("ja", "2026年12月1日 22:05 UTC", "2026年12月1日", "11 時間 58 分"),
])
def test_dates_and_durations_follow_the_language(app, language, moment, day, length):
    with app.test_request_context("/", headers={"Accept-Language": language}):
        assert i18n.when(datetime(2026, 12, 1, 22, 5, tzinfo=UTC)) == moment
        assert i18n.when(datetime(2026, 12, 1, 22, 5)) == moment  # naive times from SQLite are UTC
        assert i18n.day(datetime(2026, 12, 1, 23, 59, tzinfo=UTC)) == day
        assert i18n.duration(timedelta(hours=11, minutes=57, seconds=40)) == length
        assert i18n.when(None) == i18n.day(None) == "—"


def test_durations_in_words(app):
    with app.test_request_context("/"):
        assert i18n.duration(timedelta(hours=12)) == "12 hours"
        assert i18n.duration(timedelta(minutes=15)) == "15 minutes"
        assert i18n.duration(timedelta(hours=1, minutes=1)) == "1 hour 1 minute"
        assert i18n.duration(timedelta(seconds=-5)) == "0 minutes"


@pytest.mark.parametrize("source, expected", [
    ('{{ _("Sign in") }}', "サインイン"),  # translated
    ('{{ _("100%% sure") }}', "100% sure"),  # a newstyle string is a format string even without variables
    ('{{ _("Hello %(name)s", name="<b>") }}', "Hello &lt;b&gt;"),  # variables escaped into the Markup
    ('{{ gettext("a <b> c") }}', "a <b> c"),  # template text: Markup, not escaped again
    ('{% trans %}50% off{% endtrans %}', "50% off"),  # trans blocks double their "%" and get it back
])
def test_template_gettext_keeps_jinja_newstyle_rules(app, source, expected):
    with app.test_request_context("/", headers={"Accept-Language": "ja"}):
        assert app.jinja_env.from_string(source).render() == expected


def test_sentences_join_without_a_gap_after_a_japanese_full_stop():
    from app.i18n import sentences

    assert sentences("A private key.", "Paste the public half.") == "A private key. Paste the public half."
    assert sentences("秘密キーです。", "公開キーを貼ってください。") == "秘密キーです。公開キーを貼ってください。"
    assert sentences("Only this.", None, "") == "Only this."
    from markupsafe import Markup

    joined = sentences(Markup("Use <code>x</code>."), "a < b")
    assert isinstance(joined, Markup) and joined == "Use <code>x</code>. a &lt; b"


def test_japanese_pages_leave_no_gap_after_a_full_stop_inside_a_paragraph(client, make_user):
    """Two sentences on two template lines render with a space between them, a visible gap in Japanese."""
    import re

    from conftest import Person

    japanese = {"Accept-Language": "ja"}
    person = Person(client, make_user("new.hire"))
    pages = {"/login": client.get("/login", headers=japanese)}
    person.sign_in()
    person.start_enrollment()
    pages["/enroll/scan"] = client.get("/enroll/scan", headers=japanese)
    person.verify()
    pages["/credentials"] = client.get("/credentials", headers=japanese)
    person.get_credentials()
    for path in ("/credentials/result", "/", "/security/keys", "/security/password", "/security/ssh",
                 "/security/certificates", "/security/devices", "/security/profiles", "/device/replace"):
        pages[path] = client.get(path, headers=japanese)
    # A full stop, white space, then more text or an inline element of the same paragraph.
    gap = re.compile(r"[。）]\s+(?:[^<\s]|<(?:a|code|strong|em|kbd|span)\b)")
    found = {path: gap.findall(page.get_data(as_text=True)) for path, page in pages.items()}
    assert all(page.status_code == 200 for page in pages.values())
    assert {path: hits for path, hits in found.items() if hits} == {}

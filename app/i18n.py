"""Languages: pick English or Japanese per request, let people switch, localise dates and durations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from babel.dates import format_skeleton
from flask import Blueprint, Flask, abort, current_app, g, has_request_context, redirect, request, session, url_for
from flask.sessions import NullSession
from flask_babel import format_timedelta, get_locale, get_timezone, get_translations, lazy_gettext
from flask_wtf.csrf import generate_csrf
from jinja2 import pass_context
from markupsafe import Markup, escape

from . import catalogs
from .extensions import babel
from .redirects import safe_next

# Each language's name is written in that language, so a reader finds their own whatever the page shows.
LANGUAGES = {"en": "English", "ja": "日本語"}
DEFAULT_LANGUAGE = "en"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600  # a preference, not a secret: kept for a year

# Device kinds as app/services/devices.py names them, in the words of AWS's console.
DEVICE_KINDS = {"virtual": lazy_gettext("virtual"), "security key": lazy_gettext("security key"),
                "hardware": lazy_gettext("hardware")}

bp = Blueprint("i18n", __name__)


def init_i18n(app: Flask) -> None:
    """Bind Flask-Babel with the portal's selector, filters and headers."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    # Every time the portal shows is UTC and says so: AWS reports UTC and people compare with it.
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "UTC")
    _prepare_catalogs(app)
    babel.init_app(app, locale_selector=select_language)
    # Flask-Babel's own template callables look the catalog up again for every string (about a fifth
    # of a page's rendering); these find this request's catalog once and keep it for the request.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _catalog().ugettext(s),
        ngettext=lambda s, p, n: _catalog().ungettext(s, p, n),
        pgettext=lambda c, s: _catalog().upgettext(c, s),
        npgettext=lambda c, s, p, n: _catalog().unpgettext(c, s, p, n),
        newstyle=True,
    )
    # `_()` and `gettext()` are most of a page's calls (~170 an enrollment): Jinja's versions go through
    # the context twice (`_` resolves `gettext`, which calls the catalog through it) and format every string.
    app.jinja_env.globals.update(gettext=template_gettext, _=template_gettext)
    app.jinja_env.filters.update(when=when_unbroken, day=unbroken(day), duration=unbroken(duration),
                                 device_kind=device_kind)
    app.jinja_env.globals["sentences"] = sentences
    app.context_processor(lambda: {"languages": served_languages(), "language": language(),
                                   "switcher_token": switcher_token, "switch_back": switch_back})
    app.after_request(language_headers)
    app.register_blueprint(bp)


def _prepare_catalogs(app: Flask) -> None:
    """Compile what an install left uncompiled, and offer only the languages whose catalog is there."""
    source, *others = app.config["BABEL_TRANSLATION_DIRECTORIES"].split(";")
    folders, ready = catalogs.prepare(Path(source), Path(app.instance_path) / "translations",
                                      [code for code in LANGUAGES if code != DEFAULT_LANGUAGE])
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(folders + others)
    app.extensions["mfa_portal_languages"] = {code: name for code, name in LANGUAGES.items()
                                              if code == DEFAULT_LANGUAGE or code in ready}


def served_languages() -> dict[str, str]:
    """The languages this portal can serve (the default always; others only with their catalog)."""
    return current_app.extensions["mfa_portal_languages"]


def _catalog():
    """This request's translations, looked up once per request (outside one, every time)."""
    if not has_request_context():
        return get_translations()
    found = g.get("_portal_catalog")
    if found is None:
        found = g._portal_catalog = get_translations()
    return found


@pass_context
def template_gettext(context, string: str, **variables) -> str:
    """Jinja's newstyle gettext, in one call: translated, Markup when autoescaping, %-formatted when it needs to."""
    found = _catalog().ugettext(string)
    if context.eval_ctx.autoescape:
        found = Markup(found)  # noqa: S704  # nosec B704  (a translation is template text, as Jinja treats it)
    # Newstyle strings are always format strings ("%%" is a literal "%"); without variables or a "%" the
    # formatting would return the same string.
    return found % variables if variables or "%" in found else found


def select_language() -> str | None:
    """The switcher's cookie, else the browser's best match of Accept-Language, else the default."""
    if not has_request_context():
        return None  # a `flask` command: the default language (its messages, an error's text included)
    served = served_languages()
    choice = request.cookies.get(COOKIE)
    if choice in served:
        return choice
    return request.accept_languages.best_match(list(served), default=DEFAULT_LANGUAGE)


def language() -> str:
    """The language of this request, as a code of LANGUAGES."""
    return str(get_locale() or DEFAULT_LANGUAGE)


def switcher_token() -> str | None:
    """The switcher form's CSRF token; None while the session store is down and a token could not be kept."""
    # The outage page renders with Flask's null session, which refuses writes: no switcher then, not a 500.
    if isinstance(session, NullSession):  # the proxy answers isinstance for the session behind it
        return None
    return generate_csrf()


def switch_back() -> str | None:
    """The page to show again after switching: this path if it answers GET, without its query string."""
    # The path only: a query string can carry another page's address (?next=...) or an admin's search.
    rule = request.url_rule
    return request.path if rule is not None and "GET" in (rule.methods or ()) else None


def language_headers(response):
    """Say which language a page is in, and that it depends on Accept-Language and the cookie."""
    if request.endpoint != "static":
        response.headers["Content-Language"] = language()
        response.vary.update(("Accept-Language", "Cookie"))  # one parse and one write of the header
    return response


@bp.post("/language")
def switch():
    """Remember the chosen language in a cookie and go back to the page it was chosen on."""
    choice = request.form.get("lang")
    if choice not in served_languages():
        abort(400)
    response = redirect(safe_next(request.form.get("next")) or url_for("account.home"), code=303)
    response.set_cookie(COOKIE, choice, max_age=COOKIE_MAX_AGE, httponly=True, samesite="Lax",
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def unbroken(show):
    """Wrap a formatter for pages: no-break spaces, so a phone never splits a number from its unit or a date."""
    return lambda value: show(value).replace(" ", "\u00a0")


def when_unbroken(value: datetime | None) -> str:
    """A date and time for pages: each part whole, the line free to break between them (a 320 px phone needs it)."""
    if not value:
        return "—"
    return f"{unbroken(day)(value)} {_skeleton('Hm', value)}\u00a0UTC"


def when(value: datetime | None) -> str:
    """A date and time in this language, in UTC and saying so; a dash when unknown."""
    # Skeletons, not "short": a named month and a 24-hour clock read the same everywhere (no 12/1 vs 1/12).
    return f"{_skeleton('yMMMd', value)} {_skeleton('Hm', value)} UTC" if value else "—"


def day(value: datetime | None) -> str:
    """A date in this language; a dash when unknown."""
    return _skeleton("yMMMd", value) if value else "—"


def month_name(value: date) -> str:
    """A month and its year in words, in this request's language."""
    return _skeleton("yMMMM", datetime(value.year, value.month, value.day, tzinfo=UTC))


def _skeleton(skeleton: str, value: datetime) -> str:
    """Format with a CLDR skeleton in this request's language and the portal's time zone (UTC)."""
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite hands back naive UTC times
    return format_skeleton(skeleton, moment, tzinfo=get_timezone(), locale=get_locale() or DEFAULT_LANGUAGE)


def duration(value: timedelta) -> str:
    """A length of time in words, to the nearest minute, in this language."""
    minutes = max(0, round(value.total_seconds() / 60))
    hours, rest = divmod(minutes, 60)
    words = [format_timedelta(timedelta(hours=hours), threshold=10, granularity="hour")] if hours else []
    if rest or not hours:
        words.append(format_timedelta(timedelta(minutes=rest), threshold=10, granularity="minute"))
    return " ".join(words)


def device_kind(kind: str) -> str:
    """A device kind in this language."""
    return str(DEVICE_KINDS.get(kind, kind))


# Sentences end with "。" in Japanese, which needs no space after it (one there shows as a gap).
_CLOSED_WITHOUT_SPACE = ("。", "！", "？", "）")


def sentences(*parts: str | None) -> str:
    """Join translated sentences the way their language does: a space after "." but none after "。".

    Markup in (a template's translated HTML) gives Markup out, with any plain part escaped.
    """
    marked = any(isinstance(p, Markup) for p in parts)
    text = ""
    for part in parts:
        piece = (escape(part) if marked else str(part)).strip() if part else ""
        if piece:
            text += piece if not text or text.endswith(_CLOSED_WITHOUT_SPACE) else " " + piece
    # Every piece of a marked result is Markup already or was escaped above.
    return Markup(text) if marked else text  # noqa: S704  # nosec B704

"""Headers, proxy trust, the HTTPS rule and session lifetimes for every request."""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError
from werkzeug.middleware.proxy_fix import ProxyFix

from .errors import InvalidInput
from .extensions import talisman
from .session_interface import STORE_ERROR, WAS_SIGNED_IN, marker_options
from .sessions import portal

CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",  # data: for the icon written into each page (static_files.py)
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "object-src": "'none'",
}
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}
# botocore logs request headers (session tokens), signing input and response bodies (seeds, secret
# keys) at DEBUG: botocore logs at WARNING, and these loggers keep only WARNING and above even if
# something lowers that level again (the one place botocore's logging is quietened).
_SECRET_BEARING_LOGGERS = ("botocore.endpoint", "botocore.parsers", "botocore.auth")
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def init_security(app: Flask) -> None:
    """Install headers, ProxyFix and the per-request session checks."""
    hops = app.config["PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    talisman.init_app(
        app,
        force_https=False,  # plain-HTTP key submission is refused by plain_http_refused instead
        strict_transport_security=True,  # Talisman sends HSTS only on HTTPS requests
        content_security_policy=CSP,
        referrer_policy="no-referrer",
        frame_options="DENY",
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],  # decided in setup
        session_cookie_http_only=True,
    )
    keep_secrets_out_of_logs()
    app.before_request(refuse_cross_site_posts)
    app.before_request(accept_only_form_fields)
    app.before_request(refuse_without_session_store)
    app.before_request(enforce_session_lifetime)
    app.after_request(no_store)


def keep_secrets_out_of_logs() -> None:
    """Quieten botocore, and filter its secret-bearing debug records out at their source (once per process)."""
    logging.getLogger("botocore").setLevel(logging.WARNING)
    for name in _SECRET_BEARING_LOGGERS:
        logger = logging.getLogger(name)
        if _warnings_only not in logger.filters:
            logger.addFilter(_warnings_only)


def _warnings_only(record: logging.LogRecord) -> bool:
    """Let a record through only at WARNING or above."""
    return record.levelno >= logging.WARNING


def is_local_http() -> bool:
    """Tell whether this plain-HTTP request comes from and to this machine only."""
    host = urlsplit("//" + (request.host or "")).hostname or ""
    return host in _LOOPBACK and request.remote_addr in _LOOPBACK


def plain_http_refused() -> bool:
    """Production refuses keys over plain HTTP unless on loopback or explicitly allowed."""
    config = current_app.config
    if request.is_secure or config["DEMO_MODE"] or config.get("TESTING") or config["ALLOW_INSECURE_HTTP"]:
        return False
    return not is_local_http()


def refuse_cross_site_posts() -> None:
    """Refuse a state change that the browser itself marks as sent from another site (Fetch Metadata)."""
    # Older browsers send no Sec-Fetch-Site; the CSRF token still covers them.
    if request.method not in _SAFE_METHODS and request.headers.get("Sec-Fetch-Site", "same-origin") not in (
            "same-origin", "none"):
        raise CSRFError("The browser says this form came from another site.")


def accept_only_form_fields() -> None:
    """Refuse files and JSON: Flask-WTF would hand them to text fields as objects, numbers or lists."""
    if request.files:
        raise InvalidInput(_("The portal does not take file uploads."), _("Type or paste the values into the form."))
    if request.is_json:
        raise InvalidInput(_("The portal takes only what its own forms send."), _("Use the form on the page."))


def refuse_without_session_store() -> None:
    """Answer with the portal's own 503 page while the session store cannot be reached."""
    error = request.environ.get(STORE_ERROR)
    if error is not None:
        raise error


def enforce_session_lifetime():
    """End sessions older than the absolute timeout (the store's TTL handles idleness)."""
    if request.endpoint == "static":
        return None
    state = portal()
    created = state.created_at
    if created and time.time() - created > current_app.config["ABSOLUTE_TIMEOUT"].total_seconds():
        if current_user.is_authenticated:
            logout_user()
        state.end()
        flash(_("Your session reached its maximum length, so the portal forgot your keys. Please sign in again."),
              "info")
        response = redirect(url_for("auth.login"))
        response.delete_cookie(WAS_SIGNED_IN, **marker_options())  # this page said why already
        return response
    return None


def no_store(response):
    """Nothing the portal shows may be kept by a browser or proxy cache."""
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response

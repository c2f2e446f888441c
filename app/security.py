"""Headers, proxy trust, the HTTPS rule and session lifetimes for every request."""

from __future__ import annotations

import time

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user
from werkzeug.middleware.proxy_fix import ProxyFix

from .extensions import talisman

CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "object-src": "'none'",
}
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def init_security(app: Flask) -> None:
    """Install headers, ProxyFix and the per-request session checks."""
    hops = app.config["PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    local = app.config["DEMO_MODE"] or app.config.get("TESTING") or app.config["ALLOW_INSECURE_HTTP"]
    talisman.init_app(
        app,
        force_https=False,  # plain-HTTP key submission is refused in refuse_plain_http instead
        strict_transport_security=True,  # Talisman sends HSTS only on HTTPS requests
        content_security_policy=CSP,
        referrer_policy="no-referrer",
        frame_options="DENY",
        session_cookie_secure=app.config.get("SESSION_COOKIE_SECURE", not local),
        session_cookie_http_only=True,
    )
    app.before_request(enforce_session_lifetime)
    app.after_request(no_store)


def is_local_http() -> bool:
    """Tell whether this plain-HTTP request comes from and to this machine only."""
    host = (request.host or "").rsplit(":", 1)[0].strip("[]")
    return host in _LOOPBACK and request.remote_addr in _LOOPBACK


def plain_http_refused() -> bool:
    """Production refuses keys over plain HTTP unless on loopback or explicitly allowed."""
    config = current_app.config
    if request.is_secure or config["DEMO_MODE"] or config.get("TESTING") or config["ALLOW_INSECURE_HTTP"]:
        return False
    return not is_local_http()


def enforce_session_lifetime():
    """End sessions older than the absolute timeout (the store's TTL handles idleness)."""
    if request.endpoint == "static":
        return None
    created = session.get("created_at")
    if created and time.time() - created > current_app.config["ABSOLUTE_TIMEOUT"].total_seconds():
        if current_user.is_authenticated:
            logout_user()
        session.clear()
        flash("Your session reached its maximum length, so the portal forgot your keys. Please sign in again.",
              "info")
        return redirect(url_for("auth.login"))
    return None


def no_store(response):
    """Nothing the portal shows may be kept by a browser or proxy cache."""
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response

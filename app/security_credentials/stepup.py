"""Step-up: changes that matter need an MFA code accepted by AWS within the last five minutes."""

from __future__ import annotations

from flask import Response, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..services import codes
from ..sessions import portal

STEP_UP_SECONDS = 300


def _ask(message: str, back: str | None = None) -> Response:
    """Send the person to the one code page, coming back here (or to `back`) once AWS accepted a code."""
    flash(message, "info")
    # The code page returns only to local paths; a GET of the page that asked is always safe to repeat.
    return redirect(url_for("credentials.get", next=back or request.path))


def needs_mfa_session(back: str | None = None) -> Response | None:
    """Return a redirect to the code page unless this portal session holds MFA session credentials.

    `back`: where to return for a POST-only action, whose own path would answer the code page's GET with 405.
    """
    if current_user.has_mfa_session:
        return None
    return _ask(_("AWS allows this only with an MFA session: type a code from your authenticator app first."), back)


def needs_recent_code() -> Response | None:
    """Return a redirect to the code page unless AWS accepted one of the person's codes in the last 5 minutes."""
    if current_user.has_mfa_session and portal().proven_within(STEP_UP_SECONDS, now=codes.now()):
        return None
    return _ask(_("For this change, type a current code from your authenticator app (codes count for 5 minutes)."))

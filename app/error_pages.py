"""Every failure becomes a friendly page: what happened, and what to do next."""

from __future__ import annotations

import logging
import time

from flask import Flask, current_app, g, make_response, render_template, request
from flask.globals import request_ctx
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from limits.errors import StorageError
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError

from .backends import database_down, outages
from .errors import LimitsUnavailable, PortalError, StoreUnavailable
from .extensions import limiter
from .login import current_actor
from .services.audit import Action, Outcome, record

log = logging.getLogger(__name__)

# AWS throttling and brown-outs usually pass within seconds; a sooner retry mostly meets the same wall.
AWS_RETRY_SECONDS = 5
# A database or Redis restart or fail-over takes tens of seconds.
OUTAGE_RETRY_SECONDS = 60

# Lazy: read when a page is rendered, in that request's language.
_TEXT = {
    400: (_l("That request could not be understood"), _l("The portal could not read what your browser sent."),
          _l("Go back, reload the page and try again.")),
    403: (_l("You do not have access to this page"), _l("Your sign-in does not allow this page or action."),
          _l("If you think it should, ask an AWS administrator.")),
    404: (_l("There is no page here"), _l("The address may be mistyped, or the page has moved."),
          _l("Check the address, or start again from the home page.")),
    405: (_l("That action is not possible here"), _l("This address cannot be opened that way."),
          _l("Use the buttons on the page instead of typing the address.")),
    413: (_l("That was more than the form can take"), _l("The portal's forms take only a few short values."),
          _l("Go back and send only what the form asks for.")),
    429: (_l("Too many attempts"), _l("You made too many attempts in a short time."),
          _l("Wait until the time below has passed, then try again.")),
    500: (_l("Something went wrong on our side"),
          _l("The portal hit an unexpected problem. Your keys were not shown to anyone."),
          _l("Try again; if it keeps happening, tell your administrator.")),
    502: (_l("AWS answered unexpectedly"), _l("AWS sent an answer the portal could not use."),
          _l("Try again in a moment.")),
    503: (_l("AWS is not answering"), _l("AWS did not answer in time."),
          _l("Wait a few seconds and try again; nothing was lost.")),
}


def init_error_pages(app: Flask) -> None:
    """Register the handlers."""
    app.register_error_handler(PortalError, portal_error)
    app.register_error_handler(CSRFError, csrf_error)
    app.register_error_handler(StorageError, limits_unavailable)
    for outage in outages():
        app.register_error_handler(outage, dependency_unreachable)
    app.register_error_handler(SecurityError, untrusted_host)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected_error)


def render_error(status: int, title: str, message: str, next_step: str | None, retry_after: int | None = None):
    """Render the one error template with a status code."""
    body = render_template("errors/error.html", status=status, title=title, message=message,
                           next_step=next_step, retry_after=retry_after)
    response = make_response(body, status)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


# A view that holds something only the session can keep (a new key's secret) sets this on `g`: a function
# that records the loss and returns the words saying what was lost, should the store fail before the save.
ON_STORE_FAILURE = "on_store_failure"


def portal_error(err: PortalError):
    """A domain error that reached the top: show its words."""
    if isinstance(err, StoreUnavailable) and g.get(ON_STORE_FAILURE) is not None:
        err = g.pop(ON_STORE_FAILURE)()
    retry_after = None
    if err.status in (429, 503):
        retry_after = getattr(err, "wait_seconds", None) or AWS_RETRY_SECONDS
    return render_error(err.status, err.title, err.message, err.next_step, retry_after)


def csrf_error(err: CSRFError):
    """A form without a valid token: nothing was changed."""
    log.info("CSRF refusal on %s", request.path)
    return render_error(400, _("This form has expired"),
                        _("For your safety the portal did not act on it: the form was too old or came from "
                          "another site."), _("Reload the page and submit the form again."))


def limits_unavailable(err: StorageError):
    """The rate-limit store is unreachable: a limited POST fails closed, with the portal's own 503 page."""
    # The storage error names the store's address at most, never a secret; the type is enough to go on.
    log.warning("rate-limit store unreachable on %s (%s): refused", request.path, type(err.storage_error).__name__)
    return portal_error(LimitsUnavailable.for_actions())


def dependency_unreachable(err: Exception):
    """The database or the session store did not answer in time: the portal's own 503, not a bare 500."""
    # The class name only: SQLAlchemy's message carries the statement and its parameters.
    log.warning("dependency unreachable on %s: %s", request.path, type(err).__name__)
    if isinstance(err, database_down()):
        title, message = _("The portal cannot reach its database"), _(
            "The portal cannot reach its database right now. Nothing was changed.")
    else:
        title, message = _("The portal cannot reach its session store"), _(
            "The portal cannot reach its session store right now. Nothing was changed.")
    return render_error(503, title, message, _("Try again in a minute."), OUTAGE_RETRY_SECONDS)


def untrusted_host(err: SecurityError):
    """A Host or forwarded host outside PORTAL_HOSTS: a 400, and no link or redirect that names it."""
    log.info("refused a request for an untrusted host on %s", request.path)
    if request_ctx.url_adapter is None:
        # Flask could not bind URLs to the refused host; the page's own links are paths, so any trusted
        # name does to build them. Flask offers no public way to rebind a request's adapter (overriding
        # create_url_adapter would have to swallow the SecurityError this handler exists for);
        # tests/test_trusted_hosts.py fails if Flask stops reading URLs from here.
        request_ctx.url_adapter = current_app.url_map.bind(current_app.config["TRUSTED_HOSTS"][0])
    return render_error(400, _("This portal does not answer to that address"),
                        _("The request named a host name this portal is not set up for, so it did nothing."),
                        _("Open the portal at the address your administrator gave you."))


def http_error(err: HTTPException):
    """Map HTTP errors to the friendly template."""
    if isinstance(err, InternalServerError) and isinstance(err.original_exception, outages()):
        # Flask sends failures outside the view (opening or saving the session) here, as a 500.
        return dependency_unreachable(err.original_exception)
    if isinstance(err, InternalServerError) and isinstance(err.original_exception, PortalError):
        # Saving the session failed after the view: the store's own 503 page, not a 500.
        return portal_error(err.original_exception)
    status = err.code or 500
    title, message, next_step = _TEXT.get(status, (err.name, _("The portal could not do that."),
                                                    _("Go back and try again.")))
    retry_after = None
    if status == 429:
        retry_after = _retry_after(err)
        record(Action.RATE_LIMITED, current_actor(), Outcome.REFUSED, reason=request.endpoint)
    return render_error(status, title, message, next_step, retry_after)


def _retry_after(err: HTTPException) -> int | None:
    """Seconds until the limit that was hit resets."""
    current = limiter.current_limit
    if current is None:
        return None
    return max(1, int(current.reset_at - time.time()))


def unexpected_error(err: Exception):
    """Log the bug, show a calm page without internals."""
    log.exception("unhandled error on %s", request.path)
    return render_error(500, *_TEXT[500])

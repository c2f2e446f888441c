"""Step-up: changes that matter need a recent MFA code; the most destructive, one typed on their own page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, current_app, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from .forms import device_choices
from .login import current_actor
from .services import codes, devices, session_credentials
from .sessions import portal

STEP_UP_SECONDS = 300

# What a code unlocks, by the page that asked for it: the code page names it in a whole sentence.
_UNLOCKS = {
    "long_term_credentials.password": _l("Your code unlocks setting or changing your console password."),
    "long_term_credentials.remove_password": _l("Your code unlocks removing your console password."),
    "long_term_credentials.rotate": _l("Your code unlocks rotating your access key."),
    "long_term_credentials.finish_rotation": _l("Your code unlocks deactivating your old access key."),
    "long_term_credentials.key_status": _l("Your code unlocks activating or deactivating an access key."),
    "long_term_credentials.delete_key": _l("Your code unlocks deleting an access key."),
    "devices.remove": _l("Your code unlocks removing an MFA device."),
    "long_term_credentials.ssh": _l("Your code unlocks uploading an SSH public key."),
    "long_term_credentials.ssh_status": _l("Your code unlocks activating or deactivating an SSH public key."),
    "long_term_credentials.delete_ssh": _l("Your code unlocks deleting an SSH public key."),
    "long_term_credentials.certificates": _l("Your code unlocks your signing certificates."),
    "long_term_credentials.cert_status": _l("Your code unlocks activating or deactivating a signing certificate."),
    "long_term_credentials.delete_cert": _l("Your code unlocks deleting a signing certificate."),
}
_ADMIN = _l("Your code unlocks the admin pages.")


def unlocks(path: str | None) -> str | None:
    """Say in one sentence what a code typed for this local path unlocks, or None for a path we cannot name."""
    if not path:
        return None
    try:
        endpoint, _args = current_app.url_map.bind("localhost").match(path.split("?", 1)[0], method="GET")
    except HTTPException:
        try:  # a POST-only change: the step-up sends back to its path, which a GET can still name
            endpoint, _args = current_app.url_map.bind("localhost").match(path.split("?", 1)[0], method="POST")
        except HTTPException:
            return None
    if endpoint.startswith("admin."):
        return str(_ADMIN)
    sentence = _UNLOCKS.get(endpoint)
    return str(sentence) if sentence else None


def _ask(why: str, back: str | None = None) -> Response:
    """Send the person to the code page that says what the code unlocks, coming back here (or to `back`)."""
    # The code page returns only to local paths; a GET of the page that asked is always safe to repeat.
    return redirect(url_for("session_credentials.confirm", next=back or request.path, why=why))


def on_post(**_ids: str) -> bool:
    """Tell whether the view is asked to act: its GET only shows a page, so step-up waits for the POST."""
    return request.method == "POST"


def _guard(why: str, satisfied: Callable[[], bool], when: Callable[..., bool] | None, back: str | None):
    """Build a decorator that asks for a code unless `satisfied`, where `when` (given the view's arguments) says so.

    The view carries `step_up`, every check it is wrapped in, so a test can read them off the URL map.
    """

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if (when is None or when(**kwargs)) and not satisfied():
                return _ask(why, url_for(back) if back else None)
            return view(*args, **kwargs)

        guarded.step_up = (*getattr(view, "step_up", ()), why)  # type: ignore[attr-defined]
        return guarded

    return decorate


def _has_mfa_session() -> bool:
    """Tell whether this portal session holds MFA session credentials."""
    return current_user.has_mfa_session


def _proven_recently() -> bool:
    """Tell whether AWS accepted one of the person's codes in the last 5 minutes."""
    return current_user.has_mfa_session and portal().proven_within(STEP_UP_SECONDS, now=codes.now())


def mfa_session(when: Callable[..., bool] | None = None, back: str | None = None):
    """Send the person to the code page unless this portal session holds MFA session credentials.

    `when`: a predicate over the view's URL arguments, for views that ask only in some cases.
    `back`: the endpoint to return to for a POST-only action, whose own path would answer the code page's GET
    with 405.
    """
    return _guard("session", _has_mfa_session, when, back)


def recent_code(when: Callable[..., bool] | None = None):
    """Send the person to the code page unless AWS accepted one of the person's codes in the last 5 minutes."""
    return _guard("recent", _proven_recently, when, None)


def code_here(form_class, **kwargs):
    """Build a form that asks for a code typed on this very page, offering the person's code-giving devices."""
    form = form_class(**kwargs)
    owned = devices.code_givers(portal(), request.form.get("device"))
    form.device.choices = device_choices(owned)
    return form


def prove_here(form) -> None:
    """Have AWS check the code typed on this page now (no earlier code counts); raises CodeRejected and the like."""
    config = current_app.config
    session_credentials.confirm(portal(), current_actor(), form.device.data, form.code.data,
                                config["ADMIN_USERS"], config["ADMIN_GROUPS"])

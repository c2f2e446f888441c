"""Who may open admin pages: configured admins, and only with a current MFA session."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

log = logging.getLogger(__name__)


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send visitors to sign in, non-admins to 403, admins without MFA to the code page."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if not current_user.has_mfa_session:
            # Group membership can only be checked with MFA credentials, so with ADMIN_GROUPS
            # set we cannot tell an admin from anyone else until they type a code.
            if current_user.is_admin or current_app.config["ADMIN_GROUPS"]:
                back = request.path if request.method == "GET" else None
                return redirect(url_for("session_credentials.confirm", next=back, why="admin"))
            abort(403)
        if not current_user.is_admin:
            log.info("admin page %s refused to %s", request.path, current_user.arn)
            abort(403)
        return view(*args, **kwargs)

    return guarded

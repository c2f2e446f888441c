"""Rate limits on requests: who is counted, and how much is allowed (code budgets: code_budgets.py).

The sign-in failure budgets themselves live in services/signin.py; this module hands them the request's values.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import current_app, make_response, request
from flask_login import current_user

from .errors import PortalError
from .extensions import limiter
from .login import current_actor
from .services.signin import FailedSignIns

ADMIN = "30 per minute"
# What a failed sign-in answers: malformed, rejected or refused keys (and a form without them). A success
# (302) is not counted, nor is AWS not answering (503): neither is someone guessing.
_FAILED_SIGN_IN = {400, 401, 403}


def failed_sign_ins() -> FailedSignIns:
    """The failure budgets this sign-in request is counted under: the key ID typed and the client's network."""
    return FailedSignIns(limiter.limiter, current_app.config, request.form.get("access_key_id"), request.remote_addr,
                         current_app.secret_key, who=current_actor, reason=request.endpoint)


def limit_sign_ins(view: Callable) -> Callable:
    """Refuse a sign-in once a failure budget is spent, before AWS hears of it; count it only if it fails."""

    @wraps(view)
    def limited(*args, **kwargs):
        if request.method != "POST" or not current_app.config["RATELIMIT_ENABLED"]:
            return view(*args, **kwargs)
        budgets = failed_sign_ins()
        budgets.refuse_if_spent()
        try:
            response = make_response(view(*args, **kwargs))
        except PortalError as err:  # a refusal raised for the error page to render counts like one returned
            if err.status in _FAILED_SIGN_IN:
                budgets.count()
            raise
        if response.status_code in _FAILED_SIGN_IN:
            budgets.count()
        return response

    return limited


def per_user() -> str:
    """Count a signed-in person per IAM user, wherever they come from; anyone else per address."""
    if current_user.is_authenticated:
        return f"user:{current_user.arn}"
    return f"ip:{request.remote_addr}"


# Admins are counted as people, not addresses: several admins behind one office NAT keep their own budgets,
# and one admin gains nothing by switching networks. One budget covers every admin POST.
limit_admin_actions = limiter.shared_limit(ADMIN, scope="admin-actions", key_func=per_user, methods=["POST"])


@limiter.request_filter
def _reads_are_never_limited() -> bool:
    """Every limit here counts POSTs only; saying so up front spares page views the limiter's bookkeeping."""
    return request.method in ("GET", "HEAD", "OPTIONS")

"""Rate limits: who is counted, and how much is allowed."""

from __future__ import annotations

from collections.abc import Callable

from flask import request, session
from flask_login import current_user

from .extensions import limiter

SIGN_IN = "10 per minute;60 per hour"
CODES = "8 per minute;60 per hour"
# Tighter than CODES: a person with several devices may use all of them, but one device's
# six digits should not be guessed at more than this, from any session.
DEVICE_CODES = "6 per minute;30 per hour"
ADMIN = "30 per minute"
_MAX_SERIAL = 256  # an MFA serial ARN is at most this long; longer form values are not serials


def per_user() -> str:
    """Count a signed-in person per IAM user, wherever they come from; anyone else per address."""
    if current_user.is_authenticated:
        return f"user:{current_user.arn}"
    return f"ip:{request.remote_addr}"


def per_device() -> str:
    """Count code submissions per MFA device: the one picked in the form, else the one being enrolled."""
    serial = request.form.get("device") or (session.get("pending") or {}).get("serial")
    return f"device:{serial[:_MAX_SERIAL]}" if serial else per_user()


# Shared scopes: every route that sends a code to AWS draws on the same budgets, so spreading
# guesses over enable, resync, credentials and replace gains nothing.
_user_codes = limiter.shared_limit(CODES, scope="codes-per-user", key_func=per_user, methods=["POST"])
_device_codes = limiter.shared_limit(DEVICE_CODES, scope="codes-per-device", key_func=per_device, methods=["POST"])


# Admins are counted as people, not addresses: several admins behind one office NAT keep their own budgets,
# and one admin gains nothing by switching networks. One budget covers every admin POST.
limit_admin_actions = limiter.shared_limit(ADMIN, scope="admin-actions", key_func=per_user, methods=["POST"])


def limit_code_checks(view: Callable) -> Callable:
    """Count each POST of this view against the person's and the device's code budgets."""
    return _user_codes(_device_codes(view))


@limiter.request_filter
def _reads_are_never_limited() -> bool:
    """Every limit here counts POSTs only; saying so up front spares page views the limiter's bookkeeping."""
    return request.method in ("GET", "HEAD", "OPTIONS")

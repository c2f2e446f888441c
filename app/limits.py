"""Rate limits: who is counted, and how much is allowed."""

from __future__ import annotations

from flask import request
from flask_login import current_user

SIGN_IN = "10 per minute;60 per hour"
CODES = "8 per minute;60 per hour"
ADMIN = "30 per minute"


def per_user() -> str:
    """Count code submissions per IAM user, wherever they come from."""
    if current_user.is_authenticated:
        return f"user:{current_user.arn}"
    return f"ip:{request.remote_addr}"

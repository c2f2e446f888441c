"""MFA devices: the list, a hardware token, a backup device, removal, and enrollment as its sub-flow."""

import time

from flask import Blueprint

bp = Blueprint("devices", __name__)


@bp.app_template_global()
def server_time() -> int:
    """Return the server's clock in Unix seconds, for the pages' clock-skew warning (AWS checks codes by it)."""
    return int(time.time())


from . import enroll, routes  # noqa: E402,F401

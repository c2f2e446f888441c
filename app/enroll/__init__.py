"""Enroll a virtual MFA device: create, scan, verify with two codes, resync."""

import time

from flask import Blueprint

bp = Blueprint("enroll", __name__, url_prefix="/enroll")


@bp.app_template_global()
def server_time() -> int:
    """Return the server's clock in Unix seconds, for the pages' clock-skew warning (AWS checks codes by it)."""
    return int(time.time())


from . import routes  # noqa: E402,F401

"""Admin area: enrollment dashboard, user drill-down and reset, audit log."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import audit_views, labels, reminder_views, routes  # noqa: E402,F401

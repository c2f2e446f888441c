"""Admin area: enrollment dashboard, user drill-down and reset, audit log."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import audit_views, labels, routes  # noqa: E402,F401

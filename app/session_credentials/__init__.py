"""Exchange a code for session credentials and take them away in any format."""

from flask import Blueprint

bp = Blueprint("session_credentials", __name__, url_prefix="/credentials")

from . import routes  # noqa: E402,F401

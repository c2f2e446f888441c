"""The signed-in person's home: status, next step, device replacement."""

from flask import Blueprint

bp = Blueprint("account", __name__)

from . import routes  # noqa: E402,F401

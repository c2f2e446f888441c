"""Enroll a virtual MFA device: create, scan, verify with two codes, resync."""

from flask import Blueprint

bp = Blueprint("enroll", __name__, url_prefix="/enroll")

from . import routes  # noqa: E402,F401

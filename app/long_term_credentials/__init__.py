"""The person's own security credentials after MFA: access keys, console password, SSH and signing keys."""

from flask import Blueprint

bp = Blueprint("long_term_credentials", __name__, url_prefix="/security")

from . import certs, changes, password, profiles, routes, ssh  # noqa: E402,F401

"""A liveness probe for Docker and load balancers: no session, database or AWS call."""

from __future__ import annotations

from flask import Blueprint, Response

from .extensions import limiter

bp = Blueprint("health", __name__)


@bp.route("/healthz")
@limiter.exempt
def healthz() -> Response:
    """Say that this process answers requests."""
    return Response("ok", mimetype="text/plain")

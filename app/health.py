"""Probes: /healthz (liveness, touches nothing) and /readyz (readiness: database and session store answer)."""

from __future__ import annotations

from flask import Blueprint, Response

from . import backends
from .extensions import limiter

bp = Blueprint("health", __name__)


@bp.route("/healthz")
@limiter.exempt
def healthz() -> Response:
    """Say that this process answers requests; restarting it would not fix a database outage."""
    return Response("ok", mimetype="text/plain")


@bp.route("/readyz")
@limiter.exempt
def readyz() -> Response:
    """Say whether this instance can serve people now: 503 while the database or session store is unreachable."""
    down = backends.unreachable()
    if down:
        return Response("unreachable: " + ", ".join(down), status=503, mimetype="text/plain")
    return Response("ok", mimetype="text/plain")

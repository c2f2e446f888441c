"""Prometheus metrics, opt-in (METRICS=1): requests, AWS calls and audit events, never a person or a key.

Off by default: prometheus_client is then never imported (about 1 MB a worker) and every hook below is a
dictionary lookup. Under gunicorn with metrics on, gunicorn.conf.py points PROMETHEUS_MULTIPROC_DIR at a
folder the workers share, so one scrape of any worker counts what all of them did.
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, has_app_context, request

from .extensions import limiter

EXTENSION = "mfa_portal_metrics"
LOOPBACK = {"127.0.0.1", "::1"}
# Headers a proxy adds: a request that carries one came from elsewhere, whatever address it arrived from.
_FORWARDED = ("X-Forwarded-For", "Forwarded", "X-Real-IP")

bp = Blueprint("metrics", __name__)
_lock = threading.Lock()
_instruments: dict[str, Any] | None = None


def _build() -> dict[str, Any]:
    """Create the instruments once per process (prometheus_client refuses a second registration)."""
    global _instruments
    with _lock:
        if _instruments is None:
            from prometheus_client import Counter, Histogram  # only with METRICS on (see the module's docstring)

            # Labels are route endpoints, AWS operation names, error codes and audit actions: all from
            # fixed vocabularies, so no label ever holds a user name, a key ID or a path with an ID in it.
            _instruments = {
                "requests": Counter("mfa_portal_http_requests", "HTTP requests answered",
                                    ["endpoint", "method", "status"]),
                "request_seconds": Histogram("mfa_portal_http_request_duration_seconds",
                                             "Time to answer a request, by endpoint", ["endpoint"]),
                "aws_calls": Counter("mfa_portal_aws_calls", "AWS calls made with people's keys, by outcome "
                                     "(ok, the AWS error code, unavailable or garbled)",
                                     ["service", "operation", "outcome"]),
                "aws_seconds": Histogram("mfa_portal_aws_call_duration_seconds", "Time of one AWS call",
                                         ["service", "operation"]),
                "audit_events": Counter("mfa_portal_audit_events", "Audit records written or spooled",
                                        ["action", "outcome"]),
                "audit_spooled": Counter("mfa_portal_audit_spooled", "Audit records kept in the local spool "
                                         "because the database could not take them"),
                "audit_refused": Counter("mfa_portal_audit_refused", "AWS actions refused because their "
                                         "attempt could not be recorded", ["action"]),
                "webhooks": Counter("mfa_portal_webhook_deliveries", "Webhook delivery attempts by outcome "
                                    "(delivered, retry, failed: given up after 24 hours)", ["outcome"]),
                "reminders": Counter("mfa_portal_reminder_emails", "Reminder e-mails by outcome (sent, retry, "
                                     "failed)", ["outcome"]),
            }
    return _instruments


def init_metrics(app: Flask) -> None:
    """Count requests and serve /metrics, when METRICS is on."""
    if not app.config.get("METRICS"):
        return
    app.extensions[EXTENSION] = _build()
    app.before_request(_start_clock)
    app.after_request(_count_request)
    app.register_blueprint(bp)


def _active() -> dict[str, Any] | None:
    """The instruments of the app in context, or None when metrics are off (or outside an app)."""
    return current_app.extensions.get(EXTENSION) if has_app_context() else None


def _start_clock() -> None:
    """Note when the request started."""
    g.metrics_started = time.perf_counter()


def _count_request(response: Response) -> Response:
    """Count the answered request under its route's endpoint (never its path: paths hold key IDs)."""
    found = _active()
    endpoint = request.url_rule.endpoint if request.url_rule else "unmatched"
    if found is not None:
        found["requests"].labels(endpoint, request.method, str(response.status_code)).inc()
        started = g.get("metrics_started")
        if started is not None:
            found["request_seconds"].labels(endpoint).observe(time.perf_counter() - started)
    return response


def aws_call(service: str, operation: str, outcome: str, seconds: float) -> None:
    """Count one AWS call and its time."""
    found = _active()
    if found is not None:
        found["aws_calls"].labels(service, operation, outcome).inc()
        found["aws_seconds"].labels(service, operation).observe(seconds)


def audit_event(action: str, outcome: str, spooled: bool = False) -> None:
    """Count one audit record, and whether it went to the spool."""
    found = _active()
    if found is not None:
        found["audit_events"].labels(action, outcome).inc()
        if spooled:
            found["audit_spooled"].inc()


def audit_refused(action: str) -> None:
    """Count an AWS action refused because its attempt could not be recorded."""
    found = _active()
    if found is not None:
        found["audit_refused"].labels(action).inc()


@bp.route("/metrics")
@limiter.exempt
def metrics() -> Response:
    """Prometheus text format, for a bearer of METRICS_TOKEN or, without one, local scrapers only."""
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        offered = request.headers.get("Authorization", "")
        if not hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
            abort(403)
    elif request.remote_addr not in LOOPBACK or any(name in request.headers for name in _FORWARDED):
        abort(404)  # as if it were not there: nothing to learn for a visitor from outside
    # Only with METRICS on, the one case this view is served in (see the module's docstring).
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess  # with metrics on, under gunicorn only

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def webhook_delivery(outcome: str) -> None:
    """Count one webhook delivery attempt."""
    found = _active()
    if found is not None:
        found["webhooks"].labels(outcome).inc()


def reminder(outcome: str) -> None:
    """Count one reminder e-mail."""
    found = _active()
    if found is not None:
        found["reminders"].labels(outcome).inc()

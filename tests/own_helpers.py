"""Helpers shared by the own-credentials tests: audit rows, and AWS calls made to fail."""

from __future__ import annotations

from app import aws
from app.models import AuditEvent


def audit_rows(app, action):
    """The audit outcomes recorded for an action, in order, with their details."""
    with app.app_context():
        return [(e.outcome, e.detail) for e in AuditEvent.query.filter_by(action=action).order_by(AuditEvent.id)]


def fail_call(monkeypatch, operation, error, after=False):
    """Make one AWS operation fail as the portal sees it; with `after`, fail only once AWS has acted."""
    real = aws.call

    def call(client, op, **params):
        if op != operation:
            return real(client, op, **params)
        if after:
            real(client, op, **params)
        raise error

    monkeypatch.setattr(aws, "call", call)

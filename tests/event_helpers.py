"""Helpers shared by the event tests: an audited success written the way a flow writes one."""

from __future__ import annotations


def record_event(app, action="access_key_deleted", **detail) -> str:
    """Write one audited success the way a flow does; return its audit key (the webhook-id)."""
    from app.services import audit

    with app.test_request_context():
        return audit.record(audit.Action(action), audit.Actor("arn:aws:iam::123456789012:user/a", "a", "127.0.0.1"),
                            key_id="AKIAEXAMPLEEXAMPLE12", **detail)

"""Write audit events: what happened, to whom, from where; never a secret."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from ..extensions import db
from ..models import AuditEvent

log = logging.getLogger(__name__)

# Detail keys allowed into the log; anything else is dropped so a secret cannot slip in.
_SAFE_DETAIL = {"duration", "device", "reason", "error", "filter", "rows", "calls", "replaced_stale", "via", "admin",
               # own credentials: IDs and states, never a secret or password
               "key_id", "old_key_id", "ssh_key_id", "cert_id", "status",
               "budget"}  # which rate limit refused


def record(action: str, outcome: str = "success", subject: str | None = None, actor_arn: str | None = None,
           first_enrollment: bool = False, **detail: Any) -> AuditEvent:
    """Append one event to the audit log and return it."""
    if actor_arn is None and has_request_context() and current_user.is_authenticated:
        actor_arn = current_user.arn
    if subject is None and has_request_context() and current_user.is_authenticated:
        subject = current_user.user_name
    safe = {k: v for k, v in detail.items() if k in _SAFE_DETAIL and v is not None}
    entry = AuditEvent(
        action=action, outcome=outcome, subject=subject, actor_arn=actor_arn,
        source_ip=request.remote_addr if has_request_context() else None,
        user_agent=(request.user_agent.string or "")[:256] if has_request_context() else None,
        first_enrollment=first_enrollment, detail=json.dumps(safe, default=str) if safe else None,
    )
    db.session.add(entry)
    db.session.commit()
    log.info("audit %s %s subject=%s", action, outcome, subject)
    return entry


def enrollment_unproven(user_name: str) -> bool:
    """Tell whether the user's latest device enabling has not yet been proven by a session token."""
    latest = {action: db.session.query(db.func.max(AuditEvent.id)).filter_by(
        action=action, subject=user_name, outcome="success").scalar()
        for action in ("device_enabled", "enrollment_completed")}
    return latest["device_enabled"] is not None and (latest["enrollment_completed"] or 0) < latest["device_enabled"]

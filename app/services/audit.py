"""The audit log: named events, recorded before every AWS action and after it, never lost, never a secret."""

from __future__ import annotations

import enum
import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from .. import metrics
from ..domain import Actor
from ..errors import AuditUnavailable, AwsAccessDenied, AwsUnavailable, PortalError
from ..extensions import db
from ..logs import current_request_id
from ..models import AuditEvent, utcnow

# Writes go through the module (audit_spool.insert), so a test standing in for the database patches one name.
from . import audit_spool
from .audit_spool import flush_spool

log = logging.getLogger(__name__)


class Action(enum.StrEnum):  # event names; some contain "password", none is one
    """Every kind of event the portal records."""

    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"
    DEVICE_CREATED = "device_created"
    STALE_DEVICE_REPLACED = "stale_device_replaced"
    DEVICE_ENABLED = "device_enabled"
    DEVICE_RESYNCED = "device_resynced"
    DEVICE_REMOVED = "device_removed"
    DEVICE_REPLACED = "device_replaced"
    CREDENTIALS_ISSUED = "credentials_issued"
    ENROLLMENT_COMPLETED = "enrollment_completed"
    ADMIN_REFRESH = "admin_refresh"
    ADMIN_EXPORT = "admin_export"
    ADMIN_AUDIT_EXPORT = "admin_audit_export"
    ADMIN_RESET = "admin_reset"
    ADMIN_KEY_DEACTIVATED = "admin_key_deactivated"
    RATE_LIMITED = "rate_limited"
    # Own security credentials (after MFA)
    ACCESS_KEY_CREATED = "access_key_created"
    ACCESS_KEY_STATUS = "access_key_status"
    ACCESS_KEY_DELETED = "access_key_deleted"
    ACCESS_KEY_SECRET_LOST = "access_key_secret_lost"  # noqa: S105  # nosec B105 - made, its secret never shown
    PORTAL_KEY_SWITCHED = "portal_key_switched"
    CONSOLE_PASSWORD_SET = "console_password_set"  # noqa: S105  # nosec B105
    CONSOLE_PASSWORD_CHANGED = "console_password_changed"  # noqa: S105  # nosec B105
    CONSOLE_PASSWORD_REMOVED = "console_password_removed"  # noqa: S105  # nosec B105
    SSH_KEY_UPLOADED = "ssh_key_uploaded"
    SSH_KEY_STATUS = "ssh_key_status"
    SSH_KEY_DELETED = "ssh_key_deleted"
    SIGNING_CERT_UPLOADED = "signing_cert_uploaded"
    SIGNING_CERT_STATUS = "signing_cert_status"
    SIGNING_CERT_DELETED = "signing_cert_deleted"
    HARDWARE_TOKEN_ENABLED = "hardware_token_enabled"  # noqa: S105  # nosec B105
    BACKUP_DEVICE_CREATED = "backup_device_created"
    AUDIT_PURGE = "audit_purge"  # `flask audit purge`: never removed by a purge itself
    # Events and reminders (app/services/events.py, app/services/reminders.py)
    SIGN_IN_BURST = "sign_in_burst"
    REMINDERS_SENT = "reminders_sent"
    REMINDER_SENT = "reminder_sent"
    WEBHOOK_FAILED = "webhook_failed"


class Outcome(enum.StrEnum):
    """How an event ended; an attempt is written before the AWS call it announces."""

    ATTEMPT = "attempt"
    SUCCESS = "success"
    FAILURE = "failure"
    REFUSED = "refused"
    DENIED = "denied"  # IAM refused the portal's call: a policy lacks an action
    UNKNOWN = "unknown"  # AWS's answer was lost: it may or may not have acted


# The detail keys an event may carry; anything else is a programming error, so a secret cannot slip in.
DETAIL_KEYS = frozenset({
    "duration", "device", "reason", "error", "filter", "rows", "calls", "via", "admin",
    "key_id", "old_key_id", "ssh_key_id", "cert_id", "status",  # own credentials: IDs and states only
    "budget",  # which rate limit refused
    "before",  # an audit purge's cut-off day
    "event", "finding",  # an event type that could not be delivered; the finding a reminder is about
})


def _row(action: Action, actor: Actor, outcome: Outcome, subject: str | None, first_enrollment: bool,
         attempt: str | None, detail: dict[str, Any]) -> dict[str, Any]:
    """Build the row for one event, refusing detail keys nobody declared."""
    unknown = set(detail) - DETAIL_KEYS
    if unknown:
        raise ValueError(f"audit detail keys not allowed: {sorted(unknown)}")
    safe = {key: value for key, value in detail.items() if value is not None}
    return {"event_key": uuid.uuid4().hex, "attempt_key": attempt, "at": utcnow().isoformat(),
            "action": Action(action).value, "outcome": Outcome(outcome).value,
            "subject": subject if subject is not None else actor.user_name, "actor_arn": actor.arn,
            "source_ip": actor.source_ip, "user_agent": (actor.user_agent or "")[:256] or None,
            "first_enrollment": first_enrollment,
            "detail": json.dumps(safe, default=str, sort_keys=True) if safe else None,
            "request_id": current_request_id()}


def record(action: Action, actor: Actor, outcome: Outcome = Outcome.SUCCESS, subject: str | None = None,
           first_enrollment: bool = False, attempt: str | None = None, **detail: Any) -> str:
    """Append one event; if the database cannot take it, spool it durably. Return its key."""
    row = _row(action, actor, outcome, subject, first_enrollment, attempt, detail)
    spooled = False
    try:
        flush_spool()
        audit_spool.insert([row])
    except SQLAlchemyError:
        audit_spool.discard_transaction()
        audit_spool.keep(row)
        spooled = True
    metrics.audit_event(row["action"], row["outcome"], spooled=spooled)
    log.info("audit %s %s subject=%s", row["action"], row["outcome"], row["subject"])
    return row["event_key"]


@dataclass
class Attempt:
    """An AWS action announced in the log; its outcome is written when the block ends."""

    action: Action
    actor: Actor
    subject: str | None
    key: str
    detail: dict[str, Any] = field(default_factory=dict)
    outcome: Outcome | None = None
    first_enrollment: bool = False

    def add(self, **detail: Any) -> None:
        """Add detail the outcome record carries (a new device's serial, say)."""
        self.detail.update(detail)

    def settle(self, outcome: Outcome, **detail: Any) -> None:
        """Decide the outcome instead of letting the block's end decide it."""
        self.outcome = outcome
        self.detail.update(detail)


@contextmanager
def attempt(action: Action, actor: Actor, subject: str | None = None, **detail: Any) -> Iterator[Attempt]:
    """Record the attempt first (or refuse to act), run the AWS call, then record how it ended."""
    row = _row(action, actor, Outcome.ATTEMPT, subject, False, None, detail)
    try:
        flush_spool()
        audit_spool.insert([row])
    except SQLAlchemyError:
        audit_spool.discard_transaction()
        metrics.audit_refused(row["action"])
        log.warning("audit: database unavailable, refused %s before calling AWS", row["action"])
        raise AuditUnavailable() from None
    metrics.audit_event(row["action"], row["outcome"])
    pending = Attempt(action, actor, subject, row["event_key"], dict(detail))
    try:
        yield pending
    except PortalError as err:
        if pending.outcome is None and isinstance(err, AwsAccessDenied):
            pending.settle(Outcome.DENIED, error=err.action)
        elif pending.outcome is None:
            lost = isinstance(err, AwsUnavailable) and err.may_have_acted
            pending.settle(Outcome.UNKNOWN if lost else Outcome.FAILURE)
            pending.detail.setdefault("error", err.audit_error)  # an AWS refusal: AWS's error code
            if isinstance(err, AwsUnavailable):
                pending.detail.setdefault("reason", "aws unavailable")
        _settle(pending)
        raise
    _settle(pending)


def _settle(pending: Attempt) -> None:
    """Write an attempt's outcome (spooled if the database went away meanwhile)."""
    record(pending.action, pending.actor, pending.outcome or Outcome.SUCCESS, subject=pending.subject,
           first_enrollment=pending.first_enrollment and pending.outcome in (None, Outcome.SUCCESS),
           attempt=pending.key, **pending.detail)


def attempted(action: Action, user_name: str, value: str) -> bool:
    """Tell whether this user has tried this action on the credential with this ID (or serial).

    What lets a second press of "Delete" say "already deleted" without calling a stranger's ID deleted.
    """
    try:
        flush_spool()
        found = db.session.scalar(db.select(AuditEvent.id).where(
            AuditEvent.subject == user_name, AuditEvent.action == action.value,
            AuditEvent.outcome == Outcome.ATTEMPT.value, AuditEvent.detail.contains(json.dumps(value))).limit(1))
    except SQLAlchemyError:
        audit_spool.discard_transaction()
        return False
    return found is not None


def lost_secrets(user_name: str) -> set[str]:
    """Return the IDs of access keys AWS made for this user whose secret the portal could not keep.

    Empty while the database is away: the page then simply does not mention them.
    """
    try:
        flush_spool()
        details = db.session.scalars(db.select(AuditEvent.detail).where(
            AuditEvent.subject == user_name, AuditEvent.action == Action.ACCESS_KEY_SECRET_LOST.value))
        return {json.loads(detail)["key_id"] for detail in details if detail}
    except SQLAlchemyError:
        audit_spool.discard_transaction()
        return set()


def enrollment_unproven(user_name: str, fallback: bool = False) -> bool:
    """Tell whether the user's latest device enabling has not yet been proven by a session token.

    While the database is away the caller's own knowledge (`fallback`: this session enabled a device)
    decides, so the completion is still recorded (spooled) rather than lost.
    """
    try:
        flush_spool()
        # One grouped query for both actions' latest success, on the subject index.
        latest = dict(db.session.execute(
            db.select(AuditEvent.action, db.func.max(AuditEvent.id))
            .where(AuditEvent.subject == user_name, AuditEvent.outcome == Outcome.SUCCESS.value,
                   AuditEvent.action.in_([Action.DEVICE_ENABLED.value, Action.ENROLLMENT_COMPLETED.value]))
            .group_by(AuditEvent.action)).all())
    except SQLAlchemyError:
        audit_spool.discard_transaction()
        return fallback
    enabled = latest.get(Action.DEVICE_ENABLED.value)
    return enabled is not None and latest.get(Action.ENROLLMENT_COMPLETED.value, 0) < enabled


@dataclass(frozen=True)
class KeyHistory:
    """What the audit log knows of one of a user's access keys."""

    created_here: bool  # this portal created it for the user (a rotation)
    replaced: str | None  # the key that rotation replaced
    first_device_at: Any  # when the user's first MFA device was enabled through the portal, if it was


def key_history(user_name: str, key_id: str) -> KeyHistory | None:
    """Read the log's own record of a key's creation and of the user's first enrollment; None if it cannot be read."""
    try:
        flush_spool()
        created = db.session.execute(
            db.select(AuditEvent.detail)
            .where(AuditEvent.subject == user_name, AuditEvent.action == Action.ACCESS_KEY_CREATED.value,
                   AuditEvent.outcome == Outcome.SUCCESS.value,
                   AuditEvent.detail.contains(json.dumps({"key_id": key_id})[1:-1]))
            .order_by(AuditEvent.id.desc()).limit(1)).scalar()
        first = db.session.execute(
            db.select(db.func.min(AuditEvent.at))
            .where(AuditEvent.subject == user_name, AuditEvent.action == Action.DEVICE_ENABLED.value,
                   AuditEvent.outcome == Outcome.SUCCESS.value, AuditEvent.first_enrollment.is_(True))).scalar()
    except SQLAlchemyError:
        audit_spool.discard_transaction()
        return None
    replaced = json.loads(created).get("old_key_id") if created else None
    return KeyHistory(created is not None, replaced, first)

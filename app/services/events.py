"""Events for other systems: which audit records become events, their bodies, signing and delivery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import urllib3
from sqlalchemy import and_, or_, update

from ..extensions import db
from ..models import EventOutbox, utcnow
from .audit import Action, Outcome

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0
# Between attempts, after a failure: then every 8 hours until the event is a day old (Standard Webhooks'
# receivers drop repeats of a webhook-id, so a late duplicate costs nothing).
RETRY_DELAYS = (5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800)
GIVE_UP_AFTER = timedelta(hours=24)
# A worker that took an event and died releases it after this long (a try lasts at most the 5 s timeout).
CLAIM = timedelta(seconds=15)


@dataclass(frozen=True)
class EventKind:
    """One event type: the audit record it comes from, and the plain sentence that says it."""

    action: Action
    outcome: Outcome
    type: str
    text: str  # formatted with user, by (" by <admin>" or ""), and the detail
    when: Callable[[Mapping[str, Any]], bool] = lambda _row: True


def _first(row: Mapping[str, Any]) -> bool:
    return bool(row["first_enrollment"])


def _status(status: str) -> Callable[[Mapping[str, Any]], bool]:
    return lambda row: _detail(row).get("status") == status


# The one table: audit record (action, outcome, condition) -> event. First match wins.
EVENTS: tuple[EventKind, ...] = (
    EventKind(Action.DEVICE_ENABLED, Outcome.SUCCESS, "enrollment.first",
              "{user} set up MFA for the first time.", _first),
    EventKind(Action.DEVICE_ENABLED, Outcome.SUCCESS, "device.enabled", "{user} enabled an MFA device{by}."),
    EventKind(Action.HARDWARE_TOKEN_ENABLED, Outcome.SUCCESS, "device.enabled",
              "{user} enabled a hardware MFA token{by}."),
    EventKind(Action.DEVICE_REMOVED, Outcome.SUCCESS, "device.removed", "{user}'s MFA device was removed{by}."),
    EventKind(Action.ADMIN_RESET, Outcome.SUCCESS, "device.reset", "{user}'s MFA device was reset{by}."),
    EventKind(Action.ACCESS_KEY_CREATED, Outcome.SUCCESS, "access_key.created",
              "{user} got a new access key{by}."),
    EventKind(Action.PORTAL_KEY_SWITCHED, Outcome.SUCCESS, "access_key.rotated",
              "{user} rotated their access key{by}."),
    EventKind(Action.ACCESS_KEY_STATUS, Outcome.SUCCESS, "access_key.deactivated",
              "{user}'s access key was deactivated{by}.", _status("Inactive")),
    EventKind(Action.ACCESS_KEY_STATUS, Outcome.SUCCESS, "access_key.activated",
              "{user}'s access key was activated again{by}.", _status("Active")),
    EventKind(Action.ACCESS_KEY_DELETED, Outcome.SUCCESS, "access_key.deleted",
              "{user}'s access key was deleted{by}."),
    EventKind(Action.CONSOLE_PASSWORD_SET, Outcome.SUCCESS, "console_password.set",
              "{user} now has a console password{by}."),
    EventKind(Action.CONSOLE_PASSWORD_CHANGED, Outcome.SUCCESS, "console_password.changed",
              "{user}'s console password was changed{by}."),
    EventKind(Action.CONSOLE_PASSWORD_REMOVED, Outcome.SUCCESS, "console_password.removed",
              "{user}'s console password was removed{by}."),
    EventKind(Action.SSH_KEY_UPLOADED, Outcome.SUCCESS, "ssh_key.uploaded", "{user} uploaded an SSH key{by}."),
    EventKind(Action.SSH_KEY_DELETED, Outcome.SUCCESS, "ssh_key.deleted", "{user}'s SSH key was deleted{by}."),
    EventKind(Action.SIGNING_CERT_UPLOADED, Outcome.SUCCESS, "signing_certificate.uploaded",
              "{user} uploaded a signing certificate{by}."),
    EventKind(Action.SIGNING_CERT_DELETED, Outcome.SUCCESS, "signing_certificate.deleted",
              "{user}'s signing certificate was deleted{by}."),
    EventKind(Action.SIGN_IN_BURST, Outcome.REFUSED, "sign_in.burst",
              "Too many failed sign-ins {scope}: further attempts are refused for a while."),
    EventKind(Action.REMINDERS_SENT, Outcome.SUCCESS, "reminders.sent",
              "Reminders about {filter} are on their way to {rows} people{by}."),
)

# The body's data: these detail keys only (IDs and states; the audit's own rules keep secrets out of them).
_DATA_KEYS = ("key_id", "old_key_id", "device", "ssh_key_id", "cert_id", "status", "budget", "filter", "rows")


def _detail(row: Mapping[str, Any]) -> dict[str, Any]:
    detail = row.get("detail")
    return json.loads(detail) if isinstance(detail, str) else dict(detail or {})


def kind_for(row: Mapping[str, Any]) -> EventKind | None:
    """The event an audit row announces, if any."""
    for kind in EVENTS:
        if row["action"] == kind.action.value and row["outcome"] == kind.outcome.value and kind.when(row):
            return kind
    return None


def _account(arn: str | None) -> str | None:
    parts = (arn or "").split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


def _admin(row: Mapping[str, Any]) -> str | None:
    """The actor's user name when it is not the subject (an admin acting on someone)."""
    actor = (row.get("actor_arn") or "").rsplit("/", 1)[-1] or None
    return actor if actor and row.get("subject") and actor != row["subject"] else None


def body_for(row: Mapping[str, Any], kind: EventKind) -> dict[str, Any]:
    """The JSON body of one event: type, timestamp, data and one plain sentence."""
    detail = _detail(row)
    admin = _admin(row)
    data = {"user": row.get("subject"), "account": _account(row.get("actor_arn")), "actor": row.get("actor_arn"),
            "source_ip": row.get("source_ip")}
    data.update({key: detail[key] for key in _DATA_KEYS if key in detail})
    scope = {"sign-in-failures-per-key": f"for access key {detail.get('key_id') or '(unknown)'}",
             "sign-in-failures-per-address": f"from {row.get('source_ip')}"}.get(detail.get("budget", ""), "")
    text = kind.text.format(user=row.get("subject") or "someone", by=f" by {admin}" if admin else "",
                            scope=scope, filter=detail.get("filter", ""), rows=detail.get("rows", 0))
    at = row["at"] if isinstance(row["at"], str) else row["at"].isoformat()
    return {"type": kind.type, "timestamp": at, "data": data, "text": text}


def target_of(url: str) -> str:
    """A receiver's name in the database: a digest of its URL (the URL itself may be a secret)."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def outbox_rows(audit_rows: Iterable[Mapping[str, Any]], urls: list[str]) -> list[dict[str, Any]]:
    """The outbox rows owed for these audit rows: one per event per receiver."""
    if not urls:
        return []
    now = utcnow()
    owed = []
    for row in audit_rows:
        kind = kind_for(row)
        if kind is None:
            continue
        body = json.dumps(body_for(row, kind), separators=(",", ":"), sort_keys=True)
        owed += [{"event_id": row["event_key"], "target": target_of(url), "type": kind.type, "body": body,
                  "created_at": now, "next_attempt_at": now, "attempts": 0} for url in urls]
    return owed


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature header, as Standard Webhooks 1.0 defines it."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers_for(secret: str | None, msg_id: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The request headers of one attempt (a fresh timestamp each time: receivers reject old ones)."""
    timestamp = int(now if now is not None else time.time())
    headers = {"content-type": "application/json", "user-agent": "mfa-portal-webhooks/1",
               "webhook-id": msg_id, "webhook-timestamp": str(timestamp)}
    if secret:
        headers["webhook-signature"] = sign(secret, msg_id, timestamp, body)
    return headers


_delivering = threading.local()


class _QuietWhileDelivering(logging.Filter):
    """Drop urllib3's request lines while this thread posts a webhook: a Slack or Teams URL's path is its secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record except those logged during a webhook POST."""
        return not getattr(_delivering, "active", False)


logging.getLogger("urllib3.connectionpool").addFilter(_QuietWhileDelivering())
_pool = None


def _http():
    """One connection pool per process (urllib3 comes with botocore)."""
    global _pool
    if _pool is None:
        _pool = urllib3.PoolManager(num_pools=8, maxsize=4, retries=False, timeout=urllib3.Timeout(TIMEOUT_SECONDS))
    return _pool


def post(url: str, headers: dict[str, str], body: bytes) -> str | None:
    """POST once; return None on a 2xx answer, else a short reason (never the URL or the answer's body)."""
    _delivering.active = True
    try:
        answer = _http().request("POST", url, body=body, headers=headers, redirect=False, preload_content=True)
    except urllib3.exceptions.NewConnectionError:  # a subclass of the timeout error in urllib3 2
        return "connection refused"
    except urllib3.exceptions.TimeoutError:
        return "timeout"
    except urllib3.exceptions.HTTPError as err:
        return type(err).__name__[:64]
    finally:
        _delivering.active = False
    return None if 200 <= answer.status < 300 else f"http {answer.status}"


@dataclass(frozen=True)
class Result:
    """What one delivery task did."""

    outcome: str  # delivered, retry, failed, skipped
    reason: str | None = None
    retry_in: float | None = None
    event_type: str | None = None


def _claim(delivery_id: int) -> EventOutbox | None:
    """Take one due delivery for this worker, or None when it is done, failed or held by another worker."""
    now = utcnow()
    taken = db.session.execute(
        update(EventOutbox)
        .where(EventOutbox.id == delivery_id, EventOutbox.delivered_at.is_(None), EventOutbox.failed_at.is_(None),
               or_(EventOutbox.claimed_until.is_(None), EventOutbox.claimed_until < now))
        .values(claimed_until=now + CLAIM)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return db.session.get(EventOutbox, delivery_id) if taken.rowcount else None


def deliver(delivery_id: int, urls: list[str], secret: str | None) -> Result:
    """Try one delivery once; on failure schedule the next try, or give up after a day."""
    row = _claim(delivery_id)
    if row is None:
        return Result("skipped")
    url = next((url for url in urls if target_of(url) == row.target), None)
    reason = "receiver no longer configured" if url is None else None
    if url is not None:
        body = row.body.encode()
        reason = post(url, headers_for(secret, row.event_id, body), body)
    now = utcnow()
    row.attempts += 1
    row.claimed_until = None
    row.last_error = reason
    if reason is None:
        row.delivered_at = now
        db.session.commit()
        return Result("delivered", event_type=row.type)
    delay = RETRY_DELAYS[min(row.attempts - 1, len(RETRY_DELAYS) - 1)]
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=now.tzinfo)
    if url is None or now + timedelta(seconds=delay) - created > GIVE_UP_AFTER:
        row.failed_at = now
        db.session.commit()
        return Result("failed", reason, event_type=row.type)
    row.next_attempt_at = now + timedelta(seconds=delay)
    db.session.commit()
    return Result("retry", reason, retry_in=delay, event_type=row.type)


def due(now: datetime | None = None, late: timedelta = timedelta(0), limit: int = 1000) -> list[int]:
    """Deliveries that should have been tried by now (their task lost to a crash or a Redis restart)."""
    now = now or utcnow()
    return list(db.session.scalars(
        db.select(EventOutbox.id)
        .where(EventOutbox.delivered_at.is_(None), EventOutbox.failed_at.is_(None), EventOutbox.next_attempt_at <= now,
               # Never taken and overdue, or taken by a worker that died (its claim lapsed unreleased).
               or_(and_(EventOutbox.claimed_until.is_(None), EventOutbox.next_attempt_at <= now - late),
                   EventOutbox.claimed_until < now))
        .order_by(EventOutbox.id).limit(limit)))

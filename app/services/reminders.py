"""Reminder e-mails: who gets which reminder, queueing them, and sending each one once."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, update

from ..clock import aware
from ..errors import Refusal
from ..extensions import db
from ..models import Reminder, ReportSnapshot, ReportUser, utcnow
from . import audit, queueing
from .findings import CONTROLS, users_with
from .reminder_mail import MESSAGES, compose, deliver
from .snapshots import latest

# A worker that took a reminder and died releases it after this long (one SMTP exchange: 10 s at most).
CLAIM = timedelta(seconds=30)
RETRY_DELAYS = (60, 300, 900, 3600)  # then it is given up: the next run reminds the person again
STALE_AFTER = timedelta(hours=24)

class ReminderRefused(Refusal):
    """Reminders cannot be sent as asked; the message says why and what to do."""

    status = 409
    title = _l("Reminders not sent")


def remindable() -> list[str]:
    """The findings a person can fix themselves, in the findings' own order."""
    return [control for control in CONTROLS if control in MESSAGES]


def email_tag(config: Mapping[str, Any]) -> str | None:
    """The IAM tag key REMINDER_EMAIL=tag:<key> names, which the admin's refresh then reads."""
    setting = config.get("REMINDER_EMAIL") or ""
    return setting.removeprefix("tag:") if setting.startswith("tag:") else None


def address_for(user: ReportUser, config: Mapping[str, Any]) -> str | None:
    """Where a person's reminder goes: the pattern filled in, or their tag; None when there is none."""
    setting = config.get("REMINDER_EMAIL") or ""
    if setting.startswith("tag:"):
        found = (user.email or "").strip()
    else:
        found = setting.replace("{username}", user.user_name) if setting else ""
    return found if "@" in found and "\n" not in found and "\r" not in found else None


def check_configured(config: Mapping[str, Any]) -> None:
    """Refuse before planning anything when the mail settings are incomplete."""
    missing = [name for name in ("SMTP_URL", "MAIL_FROM", "PORTAL_URL", "REMINDER_EMAIL") if not config.get(name)]
    if missing:
        raise ReminderRefused(_("Reminder e-mails are not set up: %(names)s not set.", names=", ".join(missing)),
                              _("Set them as the README's Events and reminders section says, then try again."))


def parse_deadline(text: str | None, today: date | None = None) -> str | None:
    """An optional deadline as YYYY-MM-DD, today or later."""
    if not text or not text.strip():
        return None
    try:
        deadline = date.fromisoformat(text.strip())
    except ValueError:
        raise ReminderRefused(_("The deadline must be a date such as 2027-01-31."),
                              _("Type the date as year-month-day, or leave it empty.")) from None
    if deadline < (today or datetime.now(UTC).date()):
        raise ReminderRefused(_("The deadline is in the past."), _("Type a date from today on, or leave it empty."))
    return deadline.isoformat()


@dataclass
class Plan:
    """Who gets the reminder about one finding, and who is skipped and why."""

    finding: str
    snapshot_id: int
    send: list[tuple[str, str]] = field(default_factory=list)  # (user name, address)
    no_address: list[str] = field(default_factory=list)
    recent: list[str] = field(default_factory=list)


def plan(snapshot: ReportSnapshot | None, finding: str, config: Mapping[str, Any], now: datetime | None = None) -> Plan:
    """Work out the reminders for one finding from a snapshot."""
    if snapshot is None:
        raise ReminderRefused(_("There is no report to send reminders from yet."),
                              _("Refresh the dashboard first."))
    if finding not in MESSAGES or finding not in CONTROLS:
        raise ReminderRefused(_("There is no reminder for %(finding)s.", finding=finding),
                              _("Reminders exist for these findings: %(names)s.", names=", ".join(remindable())))
    now = now or utcnow()
    since = now - timedelta(days=config.get("REMINDER_INTERVAL_DAYS", 7))
    recent = set(db.session.scalars(db.select(Reminder.user_name).where(
        Reminder.finding == finding, Reminder.status != "failed", Reminder.created_at >= since)))
    found = Plan(finding, snapshot.id)
    for user in db.session.scalars(users_with(snapshot.id, finding).order_by(ReportUser.user_name)):
        address = address_for(user, config)
        if user.user_name in recent:
            found.recent.append(user.user_name)
        elif address is None:
            found.no_address.append(user.user_name)
        else:
            found.send.append((user.user_name, address))
    return found


def fresh_snapshot(now: datetime | None = None) -> ReportSnapshot:
    """The latest snapshot, refused when older than a day (the portal holds no AWS credentials of its own)."""
    snapshot = latest()
    if snapshot is None:
        raise ReminderRefused(_("There is no report to send reminders from yet."),
                              _("An admin refreshes the dashboard first."))
    taken = aware(snapshot.taken_at)
    if (now or utcnow()) - taken > STALE_AFTER:
        raise ReminderRefused(
            _("The latest report is from %(when)s, more than 24 hours ago.", when=taken.strftime("%Y-%m-%d %H:%M UTC")),
            _("An admin refreshes the dashboard first, so that nobody is reminded of something already fixed."))
    return snapshot


def queue(found: Plan, deadline: str | None, actor: audit.Actor) -> list[int]:
    """Store one reminder per recipient, audit the batch (its event tells the security team), and queue them."""
    if not found.send:
        return []
    batch = uuid.uuid4().hex
    now = utcnow()
    rows = [{"batch": batch, "user_name": name, "finding": found.finding, "address": address, "deadline": deadline,
             "requested_by": actor.arn, "created_at": now, "status": "queued", "attempts": 0}
            for name, address in found.send]
    db.session.execute(db.insert(Reminder.__table__), rows)
    db.session.commit()
    ids = list(db.session.scalars(db.select(Reminder.id).where(Reminder.batch == batch).order_by(Reminder.id)))
    audit.record(audit.Action.REMINDERS_SENT, actor, filter=found.finding, rows=len(ids))
    try:
        queueing.enqueue(queueing.SEND_REMINDER, ids)
    except Exception as err:  # noqa: BLE001 - stored: the consumer's sweep sends them when the queue is back
        audit.log.warning("reminders: queue unavailable (%s); the consumer's sweep will send them", type(err).__name__)
    return ids


def due(late: timedelta = timedelta(0), now: datetime | None = None, limit: int = 5000) -> list[int]:
    """Reminders owed and not in hand: never taken and overdue, due for a retry, or held by a worker that died."""
    now = now or utcnow()
    return list(db.session.scalars(
        db.select(Reminder.id)
        .where(Reminder.status.in_(("queued", "sending")),
               or_(and_(Reminder.claimed_until.is_(None), Reminder.created_at <= now - late),
                   Reminder.claimed_until < now))
        .order_by(Reminder.id).limit(limit)))


def _claim(reminder_id: int) -> Reminder | None:
    """Take one reminder for this worker, or None when it is sent, given up, or in another worker's hands."""
    now = utcnow()
    taken = db.session.execute(
        update(Reminder)
        .where(Reminder.id == reminder_id, Reminder.status.in_(("queued", "sending")),
               or_(Reminder.claimed_until.is_(None), Reminder.claimed_until < now))
        .values(status="sending", claimed_until=now + CLAIM)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return db.session.get(Reminder, reminder_id) if taken.rowcount else None


def send(reminder_id: int, config: Mapping[str, Any]) -> str:
    """Send one reminder; return sent, retry, failed or skipped."""
    row = _claim(reminder_id)
    if row is None:
        return "skipped"
    message = compose(row, config)
    error = deliver(config["SMTP_URL"], message)
    row.attempts += 1
    actor = audit.Actor(arn=row.requested_by)
    if error is None:
        # Left uncommitted: the audit record's transaction commits the "sent" mark with it.
        row.status, row.sent_at, row.claimed_until = "sent", utcnow(), None
        audit.record(audit.Action.REMINDER_SENT, actor, subject=row.user_name, finding=row.finding)
        return "sent"
    permanent = error.startswith("5") or row.attempts > len(RETRY_DELAYS)
    if permanent:
        row.status, row.claimed_until = "failed", None
    else:  # the sweep takes it again once this passes
        row.status, row.claimed_until = "queued", utcnow() + timedelta(seconds=RETRY_DELAYS[row.attempts - 1])
    db.session.commit()
    if permanent:
        audit.record(audit.Action.REMINDER_SENT, actor, audit.Outcome.FAILURE, subject=row.user_name,
                     finding=row.finding, reason=error)
        return "failed"
    return "retry"


def outcomes(ids: Iterable[int]) -> dict[str, int]:
    """How many of these reminders are in each state (for the CLI's summary)."""
    counts: dict[str, int] = {}
    for status in db.session.scalars(db.select(Reminder.status).where(Reminder.id.in_(list(ids)))):
        counts[status] = counts.get(status, 0) + 1
    return counts

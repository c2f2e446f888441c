"""Reminder e-mails: who gets which reminder, the message in plain words, and sending each one once."""

from __future__ import annotations

import functools
import smtplib
import ssl
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, update

from ..clock import aware
from ..errors import Refusal
from ..extensions import db
from ..models import Reminder, ReportSnapshot, ReportUser, utcnow
from . import audit, queueing
from .findings import CONTROLS, users_with
from .snapshots import latest

# A worker that took a reminder and died releases it after this long (one SMTP exchange: 10 s at most).
CLAIM = timedelta(seconds=30)
SMTP_TIMEOUT = 10
RETRY_DELAYS = (60, 300, 900, 3600)  # then it is given up: the next run reminds the person again
STALE_AFTER = timedelta(hours=24)
LANGUAGES = {"both": ("en", "ja"), "en": ("en",), "ja": ("ja",)}

# Per finding the person can fix themselves: what is wrong, why it matters, what to do (all on the portal).
MESSAGES: dict[str, tuple[Any, Any, Any]] = {
    "IAM.19": (_l("Your AWS user %(user)s has no MFA device yet."),
               _l("Without MFA, anyone who learns your password or access key can act in AWS as you."),
               _l("Open the portal, sign in with your access key and set up an authenticator app on your phone. "
                  "It takes about five minutes.")),
    "IAM.5": (_l("Your AWS user %(user)s can sign in to the AWS console with a password but has no MFA device."),
              _l("Without MFA, anyone who learns your password or access key can act in AWS as you."),
              _l("Open the portal, sign in with your access key and set up an authenticator app on your phone. "
                 "It takes about five minutes.")),
    "IAM.3": (_l("An access key of your AWS user %(user)s is more than 90 days old."),
              _l("The longer a key lives, the more places it may have been copied to."),
              _l("Open the portal and rotate the key: it makes the new one and switches you over step by step.")),
    "IAM.8": (_l("Your AWS user %(user)s has a password or access key that has not been used for 90 days or more."),
              _l("Credentials nobody uses are credentials nobody would notice being misused."),
              _l("Open the portal and remove the password or key you no longer need.")),
    "IAM.22": (_l("Your AWS user %(user)s has a password or access key that has not been used for 45 days or more."),
               _l("Credentials nobody uses are credentials nobody would notice being misused."),
               _l("Open the portal and remove the password or key you no longer need.")),
    "CIS.two-active-keys": (_l("Your AWS user %(user)s has two active access keys."),
                            _l("Each active key is one more secret that can leak, and most people need only one."),
                            _l("Open the portal and deactivate or delete the key you no longer use.")),
    "CIS.key-at-setup": (_l("Your AWS user %(user)s has an access key that was created with the user and never "
                            "used."),
                         _l("A key nobody uses only adds risk."),
                         _l("Open the portal and delete the key you do not use.")),
}


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


@functools.cache
def _tls() -> ssl.SSLContext:
    """One verifying TLS context per process: loading the system's CA certificates takes about 0.1 s."""
    return ssl.create_default_context()


def deliver(url: str, message: EmailMessage) -> str | None:
    """Hand one message to the SMTP server; None when it took it, else a short reason (an SMTP code first)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "localhost", parts.port
    try:
        if parts.scheme == "smtps":
            server: smtplib.SMTP = smtplib.SMTP_SSL(host, port or 465, timeout=SMTP_TIMEOUT, context=_tls())
        else:
            server = smtplib.SMTP(host, port or (587 if parts.scheme == "smtp+starttls" else 25), timeout=SMTP_TIMEOUT)
        with server:
            if parts.scheme == "smtp+starttls":
                server.starttls(context=_tls())
            if parts.username:
                server.login(unquote(parts.username), unquote(parts.password or ""))
            server.send_message(message)
    except smtplib.SMTPResponseException as err:
        return f"{err.smtp_code} {type(err).__name__}"[:64]
    except smtplib.SMTPRecipientsRefused:
        return "550 recipient refused"
    except (smtplib.SMTPException, OSError) as err:
        return type(err).__name__[:64]
    return None


def compose(row: Reminder, config: Mapping[str, Any]) -> EmailMessage:
    """The reminder as text and simple HTML, in the configured languages; its one link is PORTAL_URL."""
    # The template alone, without the page context processors: no request exists in the queue's worker.
    def render(name: str, **values: Any) -> str:
        return current_app.jinja_env.get_template(name).render(**values)

    portal = config["PORTAL_URL"]
    sections = []
    for language in LANGUAGES[config.get("REMINDER_LANGUAGE", "both")]:
        with force_locale(language):
            what, why, todo = (str(text) % {"user": row.user_name} for text in MESSAGES[row.finding])
            sections.append({
                "language": language, "greeting": _("Hello %(user)s,", user=row.user_name),
                "what": what, "why": why, "todo": todo, "gap": "" if language == "ja" else " ",
                "deadline": _("Please do this by %(deadline)s.", deadline=row.deadline) if row.deadline else None,
                "link": _("The portal:"),
                "trust": _("This message never asks for access keys, passwords or MFA codes, and its only link is "
                           "the portal's address above. Do not trust a message that does otherwise."),
                "footer": _("Sent by the AWS MFA self-service portal because your administrators asked it to."),
                "subject": _("Action needed on your AWS user %(user)s", user=row.user_name),
            })
    message = EmailMessage()
    message["Subject"] = " / ".join(section["subject"] for section in sections)
    message["From"] = config["MAIL_FROM"]
    message["To"] = row.address
    message["Date"] = formatdate(localtime=False)
    # Stable per reminder: a copy sent again after a crash is the same message to mail clients.
    message["Message-ID"] = f"<reminder.{row.id}.{row.batch}@{urlsplit(portal).hostname or 'mfa-portal'}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(render("mail/reminder.txt", sections=sections, portal=portal))
    message.add_alternative(render("mail/reminder.html", sections=sections, portal=portal), subtype="html")
    return message


def outcomes(ids: Iterable[int]) -> dict[str, int]:
    """How many of these reminders are in each state (for the CLI's summary)."""
    counts: dict[str, int] = {}
    for status in db.session.scalars(db.select(Reminder.status).where(Reminder.id.in_(list(ids)))):
        counts[status] = counts.get(status, 0) + 1
    return counts

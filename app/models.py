"""Database tables: the append-only audit log, the admin refresh snapshots, the event outbox and reminders."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db


def utcnow() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)


class AuditEvent(db.Model):
    """One thing the portal did, for whom, from where, and how it ended."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=utcnow, index=True)
    action: Mapped[str] = mapped_column(db.String(64), index=True)
    outcome: Mapped[str] = mapped_column(db.String(16), index=True)
    actor_arn: Mapped[str | None] = mapped_column(db.String(2048))
    subject: Mapped[str | None] = mapped_column(db.String(128), index=True)
    source_ip: Mapped[str | None] = mapped_column(db.String(64))
    user_agent: Mapped[str | None] = mapped_column(db.String(256))
    first_enrollment: Mapped[bool] = mapped_column(default=False)
    detail: Mapped[str | None] = mapped_column(db.Text)
    # Unique per event, so a record spooled while the database was away lands exactly once.
    event_key: Mapped[str | None] = mapped_column(db.String(32), unique=True)
    # An outcome names the attempt it settles, written before the AWS call.
    attempt_key: Mapped[str | None] = mapped_column(db.String(32), index=True)
    # The X-Request-ID of the request that wrote it, as in that request's log lines (none from the command line).
    request_id: Mapped[str | None] = mapped_column(db.String(64), index=True)


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _append_only(*_args: object) -> None:
    """Refuse to rewrite history through the ORM."""
    raise PermissionError("The audit log is append-only.")


class ReportSnapshot(db.Model):
    """One admin refresh: when it was taken, by whom, what it cost, and the account-wide totals."""

    __tablename__ = "report_snapshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=utcnow, index=True)
    taken_by: Mapped[str | None] = mapped_column(db.String(2048))
    calls: Mapped[int] = mapped_column(default=0)
    seconds: Mapped[float] = mapped_column(default=0.0)
    report_generated_at: Mapped[datetime | None] = mapped_column(db.DateTime(timezone=True))
    policy_arn: Mapped[str | None] = mapped_column(db.String(2048))
    policy_found: Mapped[bool] = mapped_column(default=False)
    users: Mapped[int] = mapped_column(default=0)
    enrolled: Mapped[int] = mapped_column(default=0)
    other_mfa: Mapped[int] = mapped_column(default=0)
    abandoned: Mapped[int] = mapped_column(default=0)
    not_covered: Mapped[int] = mapped_column(default=0)
    orphan_devices: Mapped[int] = mapped_column(default=0)
    # Enrollments per month as JSON [["2025-01", 12], ...]: the chart renders without scanning rows.
    chart: Mapped[str | None] = mapped_column(db.Text)
    # Users per finding as JSON {"IAM.3": 4, ...} and the thresholds judged with: history without a row scan.
    findings: Mapped[str | None] = mapped_column(db.Text)
    thresholds: Mapped[str | None] = mapped_column(db.Text)


class ReportUser(db.Model):
    """One IAM user as the snapshot saw them; indexed so the dashboard filters and sorts in SQL."""

    __tablename__ = "report_user"
    __table_args__ = (
        db.UniqueConstraint("snapshot_id", "user_name", name="uq_report_user_snapshot_name"),
        db.Index("ix_report_user_status", "snapshot_id", "mfa_status", "user_name"),
        db.Index("ix_report_user_abandoned", "snapshot_id", "abandoned", "user_name"),
        db.Index("ix_report_user_covered", "snapshot_id", "covered_by", "user_name"),
        db.Index("ix_report_user_enabled", "snapshot_id", "enabled_at"),
        db.Index("ix_report_user_key_used", "snapshot_id", "key_last_used"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(db.ForeignKey("report_snapshot.id", ondelete="CASCADE"))
    user_name: Mapped[str] = mapped_column(db.String(128))
    arn: Mapped[str] = mapped_column(db.String(2048))
    created: Mapped[datetime | None] = mapped_column(db.DateTime(timezone=True))
    mfa_status: Mapped[str] = mapped_column(db.String(16))
    device_names: Mapped[str | None] = mapped_column(db.String(1024))
    enabled_at: Mapped[datetime | None] = mapped_column(db.DateTime(timezone=True))
    password_enabled: Mapped[bool | None] = mapped_column()
    key_last_used: Mapped[datetime | None] = mapped_column(db.DateTime(timezone=True))
    covered_by: Mapped[str] = mapped_column(db.String(160))
    abandoned: Mapped[bool] = mapped_column(default=False)
    # The user's failing controls, comma-separated, for the table and the CSV (filters use report_finding).
    findings: Mapped[str] = mapped_column(db.String(256), default="", server_default="")
    # Each key slot's creation, last use and state from the credential report, as JSON: the user page shows
    # a key's last use without GetAccessKeyLastUsed (not in the admin policy).
    key_facts: Mapped[str | None] = mapped_column(db.Text)

    # Where reminders go (REMINDER_EMAIL=tag:...): the IAM tag's value as the refresh read it.
    email: Mapped[str | None] = mapped_column(db.String(320))



class ReportFinding(db.Model):
    """One failing control of one user in a snapshot, with the dates that decided it."""

    __tablename__ = "report_finding"
    __table_args__ = (
        # Leads with what every filter asks: this snapshot, this control; then the name for the join and order.
        db.UniqueConstraint("snapshot_id", "control", "user_name", name="uq_report_finding_control_user"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(db.ForeignKey("report_snapshot.id", ondelete="CASCADE"))
    user_name: Mapped[str] = mapped_column(db.String(128))
    control: Mapped[str] = mapped_column(db.String(32))
    causes: Mapped[str] = mapped_column(db.Text)


class EventOutbox(db.Model):
    """One event owed to one webhook receiver, written in the transaction of the audit record it reports."""

    __tablename__ = "event_outbox"
    __table_args__ = (
        db.UniqueConstraint("event_id", "target", name="uq_event_outbox_event_target"),
        db.Index("ix_event_outbox_due", "delivered_at", "failed_at", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The audit record's event_key: the webhook-id every attempt repeats, so receivers drop duplicates.
    event_id: Mapped[str] = mapped_column(db.String(32))
    # A digest of the receiver's URL, never the URL: a Slack or Teams URL is itself a secret.
    target: Mapped[str] = mapped_column(db.String(16))
    type: Mapped[str] = mapped_column(db.String(64))
    body: Mapped[str] = mapped_column(db.Text)
    created_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(db.DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(db.String(64))
    delivered_at: Mapped[datetime | None] = mapped_column(db.DateTime(timezone=True))
    failed_at: Mapped[datetime | None] = mapped_column(db.DateTime(timezone=True))


class Reminder(db.Model):
    """One reminder e-mail owed to one person about one finding; the queue sends it, this row remembers it."""

    __tablename__ = "reminder"
    __table_args__ = (db.Index("ix_reminder_user_finding", "user_name", "finding", "sent_at"),
                      db.Index("ix_reminder_pending", "status", "claimed_until"))

    id: Mapped[int] = mapped_column(primary_key=True)
    batch: Mapped[str] = mapped_column(db.String(32), index=True)
    user_name: Mapped[str] = mapped_column(db.String(128))
    finding: Mapped[str] = mapped_column(db.String(64))
    address: Mapped[str] = mapped_column(db.String(320))
    deadline: Mapped[str | None] = mapped_column(db.String(10))
    requested_by: Mapped[str | None] = mapped_column(db.String(2048))
    created_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(db.String(16), default="queued")  # queued, sending, sent, failed
    claimed_until: Mapped[datetime | None] = mapped_column(db.DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None] = mapped_column(db.DateTime(timezone=True))

"""Database tables: the append-only audit log."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db


def utcnow() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(timezone.utc)


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


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _append_only(*_args: object) -> None:
    """Refuse to rewrite history through the ORM."""
    raise PermissionError("The audit log is append-only.")

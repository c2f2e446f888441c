"""The audit log for auditors and retention: every record streamed out, old ones purged past a floor."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, func, select

from ..extensions import db
from ..models import AuditEvent
from . import audit
from .audit import Action
from .exports import plain

# Every stored column, the admin export's first, then the keys that tie attempts, outcomes and log lines.
COLUMNS = ["at", "action", "outcome", "subject", "actor_arn", "source_ip", "user_agent", "first_enrollment", "detail",
           "id", "event_key", "attempt_key", "request_id"]
BATCH = 1000  # rows per round trip: memory stays flat however long the log is
# A purge's own records (its attempt and its outcome) are never purged: the trail of who removed what stays.
PURGE_ACTIONS = (Action.AUDIT_PURGE.value,)


def _range(since: date | None, until: date | None) -> list[Any]:
    """WHERE clauses for a range of UTC days, both ends included."""
    clauses = []
    if since:
        clauses.append(AuditEvent.at >= datetime.combine(since, time.min, UTC))
    if until:
        clauses.append(AuditEvent.at < datetime.combine(until + timedelta(days=1), time.min, UTC))
    return clauses


def stream(since: date | None = None, until: date | None = None) -> Iterator[list[Any]]:
    """Yield every record in the range, attempts and outcomes, oldest first, as values in COLUMNS' order."""
    table = AuditEvent.__table__
    stmt = (select(*(table.c[name] for name in COLUMNS)).where(*_range(since, until))
            .order_by(table.c.at, table.c.id))
    # yield_per: a server-side cursor on PostgreSQL (SQLite's cursor streams anyway), rows fetched BATCH at a
    # time as plain tuples: no ORM objects, no identity map growing with the log.
    result = db.session.execute(stmt, execution_options={"yield_per": BATCH})
    try:
        for row in result:
            yield list(row)
    finally:
        result.close()


def as_json(values: list[Any]) -> str:
    """One record as a JSON line (its detail as the object it was written as)."""
    record = {name: plain(value) for name, value in zip(COLUMNS, values, strict=True)}
    if record["detail"]:
        try:
            record["detail"] = json.loads(record["detail"])
        except ValueError:
            pass  # written by hand or by an older version: kept as the text it is
    return json.dumps(record, ensure_ascii=False, sort_keys=False)


class TooRecent(ValueError):
    """A purge would remove records younger than the retention floor."""


def floor(min_days: int, today: date | None = None) -> date:
    """The latest --before a purge accepts: everything younger than min_days stays."""
    return (today or datetime.now(UTC).date()) - timedelta(days=min_days)


@dataclass(frozen=True)
class Purge:
    """What a purge removed (or, dry, would remove)."""

    before: date
    rows: int
    dry_run: bool


def _purgeable(before: date) -> list[Any]:
    """The rows a purge before this day removes: older ones, except purges' own records."""
    return [AuditEvent.at < datetime.combine(before, time.min, UTC), AuditEvent.action.not_in(PURGE_ACTIONS)]


def purge(before: date, min_days: int, actor: audit.Actor, dry_run: bool = False) -> Purge:
    """Remove records older than `before`, refusing a day younger than the retention floor; record the purge."""
    if before > floor(min_days):
        latest = floor(min_days).isoformat()
        raise TooRecent(f"{before.isoformat()} would remove records younger than {min_days} days "
                        f"(AUDIT_RETENTION_MIN_DAYS); the latest date allowed today is {latest}.")
    count = db.session.scalar(select(func.count()).select_from(AuditEvent).where(*_purgeable(before))) or 0
    if dry_run or not count:
        return Purge(before, count, dry_run)
    with audit.attempt(Action.AUDIT_PURGE, actor, before=before.isoformat(), rows=count) as pending:
        # A deliberate Core DELETE on the table: the ORM's append-only guard (models.py) refuses any
        # session.delete() of an event, and must keep doing so everywhere else.
        removed = db.session.execute(delete(AuditEvent.__table__).where(*_purgeable(before))).rowcount
        db.session.commit()
        pending.add(rows=removed)
    return Purge(before, removed, False)

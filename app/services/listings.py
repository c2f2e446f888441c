"""What admin lists read: a snapshot's users and the audit log, filtered, sorted and paged in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, exists, func, select
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import AuditEvent, ReportFinding, ReportUser
from .reporting import NONE, NOT_COVERED, OTHER

PER_PAGE = 50

SHOWS = {
    "all": (_l("Everyone"), None),
    "not_enrolled": (_l("Not enrolled"), ReportUser.mfa_status == NONE),
    "abandoned": (_l("Abandoned device"), ReportUser.abandoned.is_(True)),
    "not_covered": (_l("Not covered by the force-MFA policy"), ReportUser.covered_by == NOT_COVERED),
    "other": (_l("Hardware or FIDO MFA"), ReportUser.mfa_status == OTHER),
}
SORTS = {
    "name": _l("User name"),
    "status": _l("MFA status"),
    "enabled": _l("Enable date"),
    "key_used": _l("Access key last used"),
    "created": _l("User created"),
    "coverage": _l("Policy coverage"),
    "activity": _l("Last portal activity"),
}


@dataclass(frozen=True)
class UserQuery:
    """A validated dashboard filter: the same query gives the same rows on screen and in the CSV."""

    search: str = ""
    show: str = "all"
    sort: str = "name"
    order: str = "asc"
    finding: str = ""  # a control id from findings.CONTROLS: only users failing it


def _activity_subquery() -> Any:
    """Last audit event per (subject, actor): a person's own actions, not an admin's actions on them."""
    return (select(AuditEvent.subject, AuditEvent.actor_arn, func.max(AuditEvent.at).label("last"))
            .where(AuditEvent.subject.is_not(None))
            .group_by(AuditEvent.subject, AuditEvent.actor_arn).subquery())


def select_rows(snapshot_id: int, query: UserQuery) -> Select:
    """Build the filtered, sorted SELECT of a snapshot's rows (with last activity when sorting by it)."""
    stmt = select(ReportUser).where(ReportUser.snapshot_id == snapshot_id)
    condition = SHOWS[query.show][1]
    if condition is not None:
        stmt = stmt.where(condition)
    if query.finding:
        # One finding row per (snapshot, control, user): the join never repeats a user.
        stmt = stmt.join(ReportFinding, and_(ReportFinding.snapshot_id == ReportUser.snapshot_id,
                                             ReportFinding.user_name == ReportUser.user_name)).where(
            ReportFinding.control == query.finding)
    if query.search:
        stmt = stmt.where(ReportUser.user_name.icontains(query.search, autoescape=True))
    if query.sort == "activity":
        last = _activity_subquery()
        stmt = stmt.outerjoin(last, and_(last.c.subject == ReportUser.user_name, last.c.actor_arn == ReportUser.arn))
        column = last.c.last
    else:
        column = {"name": ReportUser.user_name, "status": ReportUser.mfa_status, "enabled": ReportUser.enabled_at,
                  "key_used": ReportUser.key_last_used, "created": ReportUser.created,
                  "coverage": ReportUser.covered_by}[query.sort]
    ordered = column.desc() if query.order == "desc" else column.asc()
    # NULLS LAST on both SQLite and PostgreSQL, and the name as tie-breaker: a stable order for paging.
    return stmt.order_by(ordered.nulls_last(), ReportUser.user_name.asc())


def page(snapshot_id: int, query: UserQuery, number: int, per_page: int = PER_PAGE) -> tuple[list[ReportUser], int]:
    """Return one page of rows and the number of matching rows."""
    return _paginated(select_rows(snapshot_id, query), number, per_page)


def all_rows(snapshot_id: int, query: UserQuery) -> list[ReportUser]:
    """Return every matching row in display order (the CSV export)."""
    return list(db.session.scalars(select_rows(snapshot_id, query)))


def last_activity(rows: list[ReportUser]) -> dict[str, datetime]:
    """Return each listed user's latest own audit event time, in one query."""
    if not rows:
        return {}
    names = {row.user_name for row in rows}
    stmt = (select(AuditEvent.subject, AuditEvent.actor_arn, func.max(AuditEvent.at))
            .where(AuditEvent.subject.in_(names)).group_by(AuditEvent.subject, AuditEvent.actor_arn))
    arns = {row.user_name: row.arn for row in rows}
    found: dict[str, datetime] = {}
    for subject, actor, at in db.session.execute(stmt):
        if actor == arns.get(subject) and at is not None:
            found[subject] = max(found.get(subject, at), at)
    return found


@dataclass(frozen=True)
class AuditQuery:
    """A validated audit-log filter; empty fields match everything."""

    user: str = ""
    action: str = ""
    outcome: str = ""
    since: date | None = None
    until: date | None = None


def select_events(query: AuditQuery) -> Select:
    """Build the filtered SELECT of audit events, newest first."""
    stmt = select(AuditEvent)
    if query.outcome != "attempt":
        # An attempt whose outcome was recorded says nothing more than that outcome; one without
        # (the portal stopped between the AWS call and its record) stays visible for review.
        settled = aliased(AuditEvent)
        stmt = stmt.where(~and_(AuditEvent.outcome == "attempt",
                                exists().where(settled.attempt_key == AuditEvent.event_key)))
    if query.user:
        stmt = stmt.where(AuditEvent.subject == query.user)
    if query.action:
        stmt = stmt.where(AuditEvent.action == query.action)
    if query.outcome:
        stmt = stmt.where(AuditEvent.outcome == query.outcome)
    if query.since:
        stmt = stmt.where(AuditEvent.at >= datetime.combine(query.since, time.min, UTC))
    if query.until:
        # The "to" date is inclusive: everything before the next midnight (UTC).
        stmt = stmt.where(AuditEvent.at < datetime.combine(query.until + timedelta(days=1), time.min, UTC))
    return stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def event_page(query: AuditQuery, number: int, per_page: int = 100) -> tuple[list[AuditEvent], int]:
    """Return one page of audit events and how many match."""
    return _paginated(select_events(query), number, per_page)


def _paginated(stmt: Select, number: int, per_page: int) -> tuple[list, int]:
    """Return one page of a SELECT and how many rows match, through Flask-SQLAlchemy's paginate."""
    # error_out=False: a page past the end comes back empty (the views then show the last page), never a 404.
    found = db.paginate(stmt, page=number, per_page=per_page, error_out=False)
    return list(found.items), found.total or 0


def all_events(query: AuditQuery) -> list[AuditEvent]:
    """Return every matching event, newest first (the CSV export)."""
    return list(db.session.scalars(select_events(query)))


def event_choices() -> tuple[list[str], list[str]]:
    """Return the actions and outcomes present in the log, for the filter pickers."""
    actions = db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
    outcomes = db.session.scalars(select(AuditEvent.outcome).distinct().order_by(AuditEvent.outcome))
    return list(actions), list(outcomes)


def user_events(user_name: str, limit: int = 50) -> list[AuditEvent]:
    """Return the latest events about one user."""
    return list(db.session.scalars(select_events(AuditQuery(user=user_name)).limit(limit)))


def recent_first_enrollments(days: int = 30) -> int:
    """Count first enrollments in the last `days` days (each deserves a look)."""
    since = datetime.now(UTC) - timedelta(days=days)
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.first_enrollment.is_(True), AuditEvent.at >= since)) or 0

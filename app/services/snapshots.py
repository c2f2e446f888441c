"""Refresh snapshots: storing one with its findings, purging old ones, and reading one back."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import delete, func, select, text

from ..clock import aware
from ..extensions import db
from ..models import ReportFinding, ReportSnapshot, ReportUser
from . import findings
from .reporting import Report

KEEP = 3  # per-user rows: enough to compare with the last refreshes; older ones only cost space
RETENTION_DAYS = 400  # SNAPSHOT_RETENTION_DAYS's default: a snapshot's totals feed the history this long


def save(report: Report, taken_by: str | None, calls: int, seconds: float, keep: int = KEEP,
         limits: findings.Thresholds | None = None, retention_days: int = RETENTION_DAYS,
         now: datetime | None = None) -> ReportSnapshot:
    """Store a refresh with its findings, keep rows of the newest `keep` and totals for `retention_days`."""
    now = now or datetime.now(UTC)
    limits = limits or findings.Thresholds()
    judged = findings.judge(report, now, limits)
    counts = Counter(control for failing in judged.values() for control in failing)
    totals = report.summary()
    snapshot = ReportSnapshot(
        taken_at=now, taken_by=taken_by, calls=calls, seconds=round(seconds, 3),
        report_generated_at=report.report_generated_at, policy_arn=report.policy_arn,
        policy_found=report.policy_found, chart=json.dumps(report.chart(now)),
        findings=json.dumps({control: counts[control] for control in findings.CONTROLS}),
        thresholds=json.dumps(asdict(limits)), **totals,
    )
    db.session.add(snapshot)
    db.session.flush()
    if report.rows:
        # One Core executemany: the ORM would split rows into batches by which columns are NULL,
        # and asdict() would deep-copy every value.
        db.session.execute(ReportUser.__table__.insert(), [
            {**vars(row), "snapshot_id": snapshot.id, "findings": ",".join(judged[row.user_name]),
             "key_facts": findings.key_slots(report.credentials.get(row.user_name) or {})}
            for row in report.rows])
        found = [{"snapshot_id": snapshot.id, "user_name": name, "control": control,
                  "causes": findings.encode(causes)}
                 for name, failing in judged.items() for control, causes in failing.items()]
        if found:
            db.session.execute(ReportFinding.__table__.insert(), found)
    # Per-user rows are only read for the newest snapshot; older ones keep their totals for the history.
    old = list(db.session.scalars(select(ReportSnapshot.id).order_by(ReportSnapshot.id.desc())))[keep:]
    if old:
        _drop_rows(old)
    purge_snapshots(now - timedelta(days=retention_days), commit=False)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # Thousands of rows just arrived and autovacuum has not looked yet: with the old statistics the
        # planner takes a finding's 4,000 rows for one and joins them by nested loop (6.5 s at 5,000 users).
        db.session.execute(text("ANALYZE report_user, report_finding"))
        db.session.commit()
    return snapshot


def _drop_rows(snapshot_ids: list[int]) -> None:
    """Delete the per-user rows and findings of these snapshots."""
    db.session.execute(delete(ReportFinding).where(ReportFinding.snapshot_id.in_(snapshot_ids)))
    db.session.execute(delete(ReportUser).where(ReportUser.snapshot_id.in_(snapshot_ids)))


def purge_snapshots(before: datetime, commit: bool = True) -> int:
    """Delete snapshots taken before `before` (never the newest one) with their rows; return how many."""
    newest = db.session.scalar(select(func.max(ReportSnapshot.id)))
    old = list(db.session.scalars(select(ReportSnapshot.id).where(ReportSnapshot.taken_at < before,
                                                                 ReportSnapshot.id != newest)))
    if old:
        _drop_rows(old)
        db.session.execute(delete(ReportSnapshot).where(ReportSnapshot.id.in_(old)))
    if commit:
        db.session.commit()
    return len(old)


def latest() -> ReportSnapshot | None:
    """Return the newest snapshot, if an admin ever refreshed."""
    return db.session.scalars(select(ReportSnapshot).order_by(ReportSnapshot.id.desc()).limit(1)).first()


def chart(snapshot: ReportSnapshot) -> list[tuple[str, int]]:
    """Return the snapshot's enrollments per month."""
    return [tuple(pair) for pair in json.loads(snapshot.chart or "[]")]


def finding_counts(snapshot: ReportSnapshot) -> dict[str, int | None]:
    """Return users per control, in CONTROLS order (None: taken before findings were judged)."""
    counts = json.loads(snapshot.findings or "{}")
    return {control: counts.get(control) for control in findings.CONTROLS}


def thresholds(snapshot: ReportSnapshot) -> findings.Thresholds | None:
    """Return the thresholds the snapshot's findings were judged with."""
    return findings.Thresholds(**json.loads(snapshot.thresholds)) if snapshot.thresholds else None


def user_findings(snapshot_id: int, user_name: str) -> dict[str, list[findings.Cause]]:
    """Return one user's failing controls in CONTROLS order, each with the causes and their dates."""
    found = {control: findings.decode(causes) for control, causes in db.session.execute(
        select(ReportFinding.control, ReportFinding.causes).where(
            ReportFinding.snapshot_id == snapshot_id, ReportFinding.user_name == user_name))}
    return {control: found[control] for control in findings.CONTROLS if control in found}


@dataclass(frozen=True)
class Point:
    """One day of the history: the day's last snapshot."""

    day: datetime  # midnight UTC of the day
    users: int
    enrolled: int
    counts: dict[str, int | None]

    @property
    def share(self) -> float:
        """Return the share of users enrolled, 0 to 1."""
        return self.enrolled / self.users if self.users else 0.0


def history(since: datetime) -> list[Point]:
    """Return the last snapshot of each UTC day since `since`, oldest first (snapshot columns only)."""
    stmt = (select(ReportSnapshot.taken_at, ReportSnapshot.users, ReportSnapshot.enrolled, ReportSnapshot.findings)
            .where(ReportSnapshot.taken_at >= since).order_by(ReportSnapshot.taken_at, ReportSnapshot.id))
    days: dict[datetime, Point] = {}
    for taken_at, users, enrolled, counts in db.session.execute(stmt):
        known = json.loads(counts or "{}")
        when = aware(taken_at).astimezone(UTC)
        day = datetime.combine(when.date(), time.min, UTC)
        days[day] = Point(day, users, enrolled, {control: known.get(control) for control in findings.CONTROLS})
    return list(days.values())


def user_row(snapshot_id: int, user_name: str) -> ReportUser | None:
    """Return one user's row in a snapshot."""
    return db.session.scalars(select(ReportUser).where(ReportUser.snapshot_id == snapshot_id,
                                                       ReportUser.user_name == user_name)).first()

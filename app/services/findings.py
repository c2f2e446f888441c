"""Security Hub and CIS findings on IAM users, judged from the credential report the admin refresh reads."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, select

from ..clock import aware
from ..models import ReportFinding, ReportUser
from .reporting import NONE, NOT_COVERED, Report

IAM_3, IAM_5, IAM_8, IAM_19, IAM_22 = "IAM.3", "IAM.5", "IAM.8", "IAM.19", "IAM.22"
TWO_KEYS, KEY_AT_SETUP, NOT_COVERED_ID = "CIS.two-active-keys", "CIS.key-at-setup", "policy.not-covered"

# In the order the dashboard lists them: Security Hub's controls by number, then CIS's, then the portal's own.
CONTROLS = {
    IAM_3: _l("Active access key not rotated"),
    IAM_5: _l("Console password without MFA"),
    IAM_8: _l("Password or access key unused for long"),
    IAM_19: _l("No MFA device"),
    IAM_22: _l("Password or access key unused"),
    TWO_KEYS: _l("Two active access keys"),
    KEY_AT_SETUP: _l("Console user's access key never used"),
    NOT_COVERED_ID: _l("Not covered by the force-MFA policy"),
}

# What each cause says; the dates are the ones that made the control fail.
CAUSES = {
    "key_created": _l("Access key %(slot)s (active) was created on %(date)s."),
    "key_last_used": _l("Access key %(slot)s (active) was last used on %(date)s."),
    "key_never_used": _l("Access key %(slot)s (active) was never used; it was created on %(date)s."),
    "password_last_used": _l("The console password was last used on %(date)s."),
    "password_never_used": _l("The console password was never used; it was set on %(date)s."),
    "password_set": _l("The console password was set on %(date)s."),
    "user_created": _l("The user was created on %(date)s."),
    "not_covered": _l("The force-MFA policy is attached neither to the user nor to any of their groups."),
}


@dataclass(frozen=True)
class Thresholds:
    """The days each control allows (AWS's values by default)."""

    key_age: int = 90  # IAM.3: fails at strictly more
    unused: int = 45  # IAM.22: fails at this many days or more
    stale: int = 90  # IAM.8: fails at this many days or more

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Thresholds:
        """Read the FINDINGS_* settings."""
        return cls(config["FINDINGS_KEY_AGE_DAYS"], config["FINDINGS_UNUSED_DAYS"], config["FINDINGS_STALE_DAYS"])


AWS_DEFAULTS = Thresholds()


@dataclass(frozen=True)
class Cause:
    """One fact behind a finding: which credential, and the date that decided it."""

    kind: str
    slot: int | None = None
    date: datetime | None = None


def describe(control: str, limits: Thresholds) -> str:
    """Say what a control fails on, with the threshold in force, in the page's language."""
    if control == IAM_3:
        return _("An active access key created more than %(days)s days ago.", days=limits.key_age)
    if control in (IAM_22, IAM_8):
        days = limits.unused if control == IAM_22 else limits.stale
        return _("A console password or active access key unused for %(days)s days or more (never used: counted "
                 "from when it was created or set).", days=days)
    return str({
        IAM_5: _l("A console password and no MFA device."),
        IAM_19: _l("No MFA device at all, console password or not."),
        TWO_KEYS: _l("Two active access keys (CIS: one active access key per user)."),
        KEY_AT_SETUP: _l("A console user with an active access key never used (CIS: no access key at initial "
                         "setup)."),
        NOT_COVERED_ID: _l("The force-MFA policy does not reach the user, so nothing makes them enroll."),
    }[control])


def _date(value: str | None) -> datetime | None:
    """Read a credential-report date; "N/A", "no_information" and "not_supported" mean none."""
    try:
        when = datetime.fromisoformat(value or "")
    except ValueError:
        return None
    return aware(when)


def _days(now: datetime, then: datetime) -> int:
    """Whole days between two times, as Prowler and the console count them."""
    return (now - then).days


def _unused(report: Mapping[str, str], keys: list[tuple[int, datetime | None, datetime | None]], now: datetime,
            days: int) -> list[Cause]:
    """Return the console password and active keys unused for `days` days or more (never used: since set)."""
    causes = []
    if report.get("password_enabled") == "true":
        last = _date(report.get("password_last_used"))
        since = last or _date(report.get("password_last_changed")) or _date(report.get("user_creation_time"))
        if since and _days(now, since) >= days:
            causes.append(Cause("password_last_used" if last else "password_never_used", None, since))
    for slot, created, used in keys:
        since = used or created
        if since and _days(now, since) >= days:
            causes.append(Cause("key_last_used" if used else "key_never_used", slot, since))
    return causes


def evaluate(report: Mapping[str, str], mfa_status: str, covered_by: str, now: datetime,
             limits: Thresholds = AWS_DEFAULTS) -> dict[str, list[Cause]]:
    """Judge one user's credential-report row (and what the list calls know) at `now`: failing controls only."""
    keys = [(slot, _date(report.get(f"access_key_{slot}_last_rotated")),
             _date(report.get(f"access_key_{slot}_last_used_date")))
            for slot in (1, 2) if report.get(f"access_key_{slot}_active") == "true"]
    console = report.get("password_enabled") == "true"
    found: dict[str, list[Cause]] = {}
    old = [Cause("key_created", slot, created) for slot, created, _used in keys
           if created and _days(now, created) > limits.key_age]
    if old:
        found[IAM_3] = old
    if console and mfa_status == NONE:
        found[IAM_5] = [Cause("password_set", None, _date(report.get("password_last_changed")))]
    if mfa_status == NONE:
        found[IAM_19] = [Cause("user_created", None, _date(report.get("user_creation_time")))]
    for control, days in ((IAM_22, limits.unused), (IAM_8, limits.stale)):
        unused = _unused(report, keys, now, days)
        if unused:
            found[control] = unused
    if len(keys) == 2:
        found[TWO_KEYS] = [Cause("key_created", slot, created) for slot, created, _used in keys]
    never = [Cause("key_never_used", slot, created) for slot, created, used in keys if used is None]
    if console and never:
        found[KEY_AT_SETUP] = never
    if covered_by == NOT_COVERED:
        found[NOT_COVERED_ID] = [Cause("not_covered")]
    return {control: found[control] for control in CONTROLS if control in found}


def judge(report: Report, now: datetime, limits: Thresholds) -> dict[str, dict[str, list[Cause]]]:
    """Judge every user of a refresh: user name -> failing control -> causes."""
    judged = {}
    for row in report.rows:
        facts = report.credentials.get(row.user_name) or {}
        if not facts.get("user_creation_time") and row.created:
            # Created after AWS generated the report: ListUsers still knows when.
            facts = {**facts, "user_creation_time": row.created.isoformat()}
        judged[row.user_name] = evaluate(facts, row.mfa_status, row.covered_by, now, limits)
    return judged


@dataclass(frozen=True)
class KeySlot:
    """One access key slot of the credential report."""

    slot: int
    created: datetime | None
    last_used: datetime | None
    active: bool


def key_slots(report: Mapping[str, str]) -> str | None:
    """Return the report's key slots that hold a key, as JSON for the user page (None: no key)."""
    slots = [[slot, report.get(f"access_key_{slot}_last_rotated"), report.get(f"access_key_{slot}_last_used_date"),
              report.get(f"access_key_{slot}_active") == "true"]
             for slot in (1, 2) if _date(report.get(f"access_key_{slot}_last_rotated"))]
    return json.dumps(slots) if slots else None


def read_slots(text: str | None) -> list[KeySlot]:
    """Read key slots back."""
    return [KeySlot(slot, _date(created), _date(used), active) for slot, created, used, active
            in json.loads(text or "[]")]


def slot_of(slots: list[KeySlot], created: datetime) -> KeySlot | None:
    """Find the report's slot of a key AWS lists now, by its creation time (the report has no key ids)."""
    return next((s for s in slots if s.created and abs((s.created - created).total_seconds()) < 1), None)


def encode(causes: list[Cause]) -> str:
    """Store causes as compact JSON: [kind, slot, ISO date]."""
    return json.dumps([[c.kind, c.slot, c.date.isoformat() if c.date else None] for c in causes])


def decode(text: str | None) -> list[Cause]:
    """Read causes back from the database."""
    return [Cause(kind, slot, _date(when)) for kind, slot, when in json.loads(text or "[]")]


def users_with(snapshot_id: int, control: str) -> Select:
    """Select the snapshot's users with this finding, by name (indexed on snapshot, control, name)."""
    return (select(ReportUser)
            .join(ReportFinding, and_(ReportFinding.snapshot_id == ReportUser.snapshot_id,
                                      ReportFinding.user_name == ReportUser.user_name))
            .where(ReportUser.snapshot_id == snapshot_id, ReportFinding.control == control)
            .order_by(ReportUser.user_name))

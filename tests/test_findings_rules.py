"""The findings' rules, judged from credential-report rows at a fixed time: boundaries as AWS and CIS draw them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.services import findings
from app.services.findings import Cause, Thresholds, evaluate
from app.services.reporting import NONE, NOT_COVERED, VIRTUAL

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def ago(days: int) -> str:
    """A credential-report date `days` days and an hour before NOW (whole days count)."""
    return (NOW - timedelta(days=days, hours=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def row(keys: tuple = (), password: tuple | None = None, created: int = 400) -> dict[str, str]:
    """Build a report row: keys as (created_days, last_used_days or None, active); password as (set, used)."""
    report = {"user_creation_time": ago(created), "password_enabled": "false", "password_last_used": "N/A",
              "password_last_changed": "N/A", "mfa_active": "false"}
    for slot in (1, 2):
        report |= {f"access_key_{slot}_active": "false", f"access_key_{slot}_last_rotated": "N/A",
                   f"access_key_{slot}_last_used_date": "N/A"}
    for slot, (made, used, active) in enumerate(keys, start=1):
        report |= {f"access_key_{slot}_active": "true" if active else "false",
                   f"access_key_{slot}_last_rotated": ago(made),
                   f"access_key_{slot}_last_used_date": ago(used) if used is not None else "N/A"}
    if password:
        set_days, used = password
        report |= {"password_enabled": "true", "password_last_changed": ago(set_days) if set_days else "N/A",
                   "password_last_used": ago(used) if used is not None else "no_information"}
    return report


def judged(report: dict, mfa: str = VIRTUAL, covered: str = "direct",
           limits: Thresholds = findings.AWS_DEFAULTS) -> set:
    """Return the failing control ids."""
    return set(evaluate(report, mfa, covered, NOW, limits))


@pytest.mark.parametrize(("days", "fails"), [(89, False), (90, False), (91, True)])
def test_iam3_fails_strictly_after_90_days(days, fails):
    """IAM.3: an active key created more than 90 days ago (Prowler: > 90); either slot."""
    assert (findings.IAM_3 in judged(row([(days, 1, True)]))) is fails
    assert (findings.IAM_3 in judged(row([(1, 1, True), (days, 1, True)]))) is fails
    assert findings.IAM_3 not in judged(row([(days, 1, False)]))  # an inactive key is not judged


@pytest.mark.parametrize(("days", "fails"), [(44, False), (45, True), (46, True)])
def test_iam22_fails_at_45_days_or_more(days, fails):
    """IAM.22: a key or password unused 45 days or more; IAM.8 not before 90."""
    assert judged(row([(60, days, True)])) == ({findings.IAM_22} if fails else set())
    assert judged(row(password=(300, days))) == ({findings.IAM_22} if fails else set())


@pytest.mark.parametrize(("days", "fails"), [(89, False), (90, True), (91, True)])
def test_iam8_fails_at_90_days_or_more(days, fails):
    """IAM.8: unused 90 days or more (and IAM.22 with it)."""
    assert (findings.IAM_8 in judged(row([(20, days, True)]))) is fails
    assert findings.IAM_22 in judged(row([(20, days, True)]))
    assert (findings.IAM_8 in judged(row(password=(300, days)))) is fails


@pytest.mark.parametrize(("days", "fails"), [(44, False), (45, True)])
def test_a_never_used_key_counts_from_its_creation(days, fails):
    """CIS and AWS's remediation count a never-used key from when it was made (Prowler would pass it)."""
    found = evaluate(row([(days, None, True)]), VIRTUAL, "direct", NOW)
    assert (findings.IAM_22 in found) is fails
    if fails:
        assert found[findings.IAM_22] == [Cause("key_never_used", 1, datetime.fromisoformat(ago(days)))]


def test_a_never_used_password_counts_from_when_it_was_set_else_the_user_creation():
    """password_last_changed first; a report without it ("N/A") falls back to user_creation_time."""
    set_recently = evaluate(row(password=(10, None), created=400), VIRTUAL, "direct", NOW)
    assert findings.IAM_22 not in set_recently
    set_long_ago = evaluate(row(password=(50, None), created=400), VIRTUAL, "direct", NOW)
    assert set_long_ago[findings.IAM_22] == [Cause("password_never_used", None, datetime.fromisoformat(ago(50)))]
    unknown_set = evaluate(row(password=(None, None), created=46), VIRTUAL, "direct", NOW)
    assert unknown_set[findings.IAM_22] == [Cause("password_never_used", None, datetime.fromisoformat(ago(46)))]
    assert findings.IAM_22 not in judged(row(password=(None, None), created=44))


def test_mfa_controls():
    """IAM.19: no MFA device at all; IAM.5: a console password and no MFA device."""
    assert judged(row(), mfa=NONE) == {findings.IAM_19}
    assert judged(row(password=(1, 1)), mfa=NONE) == {findings.IAM_19, findings.IAM_5}
    assert judged(row(password=(1, 1)), mfa="other") == set()  # hardware or FIDO counts as a device


def test_cis_checks_and_coverage():
    """Two active keys; a console user's active key never used; the force-MFA policy reaching nobody."""
    assert judged(row([(1, 1, True), (2, 1, True)])) == {findings.TWO_KEYS}
    assert judged(row([(1, 1, True), (2, 1, False)])) == set()
    assert judged(row([(1, None, True)], password=(1, 1))) == {findings.KEY_AT_SETUP}
    assert judged(row([(1, None, True)])) == set()  # no console password: not the CIS case
    assert judged(row([(1, None, False)], password=(1, 1))) == set()
    assert judged(row(), covered=NOT_COVERED) == {findings.NOT_COVERED_ID}
    assert judged(row(), covered="unknown") == set()  # the policy was not found: coverage unknown, not failed


def test_thresholds_are_settings():
    """Stricter thresholds move every boundary."""
    strict = Thresholds(key_age=30, unused=10, stale=20)
    assert judged(row([(31, 11, True)]), limits=strict) == {findings.IAM_3, findings.IAM_22}
    assert judged(row([(30, 20, True)]), limits=strict) == {findings.IAM_22, findings.IAM_8}


def test_controls_keep_their_order_and_causes_round_trip():
    """The result follows CONTROLS' order; causes survive the database's JSON."""
    found = evaluate(row([(100, None, True), (95, None, True)], password=(100, None)), NONE, NOT_COVERED, NOW)
    assert list(found) == list(findings.CONTROLS)
    for causes in found.values():
        assert findings.decode(findings.encode(causes)) == causes
    assert list(findings.CONTROLS) == ["IAM.3", "IAM.5", "IAM.8", "IAM.19", "IAM.22", "CIS.two-active-keys",
                                       "CIS.key-at-setup", "policy.not-covered"]

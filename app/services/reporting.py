"""Admin reporting: every IAM user's MFA enrollment from a handful of paginated AWS calls."""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from .. import aws
from ..clock import aware
from ..errors import AwsError, AwsUnavailable, Refusal
from .devices import Device

PAGE = 1000  # the most AWS returns per list call
# Seconds between GenerateCredentialReport polls: about 12 s in all, inside a proxy's request timeout.
BACKOFF = (0.25, 0.5, 1.0, 2.0, 4.0, 4.0)
CHART_MONTHS = 18
_NOT_READY = {"ReportInProgress", "ReportNotPresent", "ReportExpired"}

NONE, VIRTUAL, OTHER = "none", "virtual", "other"
DIRECT, NOT_COVERED, UNKNOWN = "direct", "none", "unknown"
GROUP_PREFIX = "group:"


class ReportNotReady(AwsUnavailable):
    """AWS is still building the credential report."""

    def __init__(self) -> None:
        super().__init__("AWS is still preparing the account's credential report.",
                         "Wait a minute and refresh again; nothing was changed.")


@dataclass(frozen=True)
class UserRow:
    """One IAM user's enrollment as the reporting calls saw it."""

    user_name: str
    arn: str
    created: datetime | None
    mfa_status: str
    device_names: str | None
    enabled_at: datetime | None
    password_enabled: bool | None
    key_last_used: datetime | None
    covered_by: str
    abandoned: bool
    email: str | None = None  # the IAM tag REMINDER_EMAIL=tag:<key> names, when it does


@dataclass
class Report:
    """Everything one refresh learned, ready to be stored as a snapshot."""

    rows: list[UserRow]
    policy_arn: str
    policy_found: bool
    report_generated_at: datetime | None
    orphan_devices: list[str] = field(default_factory=list)
    # (operation, items it returned) per list call, so a benchmark can count pages as AWS would.
    fetched: list[tuple[str, int]] = field(default_factory=list)
    # The credential report by user name: what the findings are judged on.
    credentials: dict[str, dict] = field(default_factory=dict)

    def summary(self) -> dict[str, int]:
        """Return the account-wide totals the dashboard shows at the top."""
        status = Counter(row.mfa_status for row in self.rows)
        return {
            "users": len(self.rows),
            "enrolled": status[VIRTUAL] + status[OTHER],
            "other_mfa": status[OTHER],
            "abandoned": sum(row.abandoned for row in self.rows),
            "not_covered": sum(row.covered_by == NOT_COVERED for row in self.rows),
            "orphan_devices": len(self.orphan_devices),
        }

    def chart(self, now: datetime | None = None) -> list[tuple[str, int]]:
        """Count first enrollments per month over the last CHART_MONTHS months, oldest first."""
        per_month = Counter(row.enabled_at.strftime("%Y-%m") for row in self.rows if row.enabled_at)
        now = now or datetime.now(UTC)
        months = []
        year, month = now.year, now.month
        for _ in range(CHART_MONTHS):
            months.append(f"{year:04d}-{month:02d}")
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        return [(m, per_month.get(m, 0)) for m in reversed(months)]


@dataclass(frozen=True)
class CallCount:
    """The AWS calls made so far inside a counting_calls() block."""

    records: list

    def total(self) -> int:
        """Return how many calls were made."""
        return len(self.records)


@contextmanager
def counting_calls() -> Iterator[CallCount]:
    """Count the AWS calls this thread makes inside the block (other requests' calls never reach it)."""
    with aws.watch_calls() as records:
        yield CallCount(records)


def force_mfa_policy_arn(configured_arn: str | None, name: str, partition: str, account: str) -> str:
    """Return the force-MFA policy ARN: configured, else the customer-managed policy of that name."""
    return configured_arn or f"arn:{partition}:iam::{account}:policy/{name}"


def collect(iam: Any, policy_arn: str, device_pattern: str = "{username}", account: str = "",
            sleep: Callable[[float], None] = time.sleep, email_tag: str | None = None) -> Report:
    """Gather every user's MFA status with account-wide calls only: never one call per user."""
    fetched: list[tuple[str, int]] = []
    credentials, generated_at = credential_report(iam, sleep)
    users = _listed(iam, fetched, "ListUsers", "Users")
    devices = _listed(iam, fetched, "ListVirtualMFADevices", "VirtualMFADevices", AssignmentStatus="Any")
    coverage, found = policy_coverage(iam, policy_arn, fetched)
    rows, orphans = build_rows(users, devices, credentials, coverage if found else None, device_pattern, account)
    if email_tag:
        tagged = user_tags(iam, email_tag, fetched)
        rows = [replace(row, email=tagged.get(row.user_name)) for row in rows]
    return Report(rows, policy_arn, found, generated_at, orphans, fetched, credentials)


def user_tags(iam: Any, key: str, fetched: list | None = None) -> dict[str, str]:
    """Every user's value of one IAM tag, account-wide: ListUsers carries no tags, this call does (1,000 a page)."""
    fetched = fetched if fetched is not None else []
    found: dict[str, str] = {}
    marker = None
    while True:  # botocore has no paginator for this call: Marker by hand, as AWS documents it
        page = aws.call(iam, "GetAccountAuthorizationDetails", Filter=["User"], MaxItems=PAGE,
                        **({"Marker": marker} if marker else {}))
        users = page.get("UserDetailList", [])
        fetched.append(("GetAccountAuthorizationDetails", len(users)))
        found.update({user["UserName"]: tag["Value"] for user in users for tag in user.get("Tags", [])
                      if tag.get("Key") == key and tag.get("Value")})
        if not page.get("IsTruncated"):
            return found
        marker = page["Marker"]


def _listed(iam: Any, fetched: list, operation: str, key: str, **params: Any) -> list[dict]:
    """Return every item of a list call (1,000 a page) and note how many there were."""
    items = list(aws.pages(iam, operation, key, **params))
    fetched.append((operation, len(items)))
    return items


def credential_report(iam: Any, sleep: Callable[[float], None] = time.sleep) -> tuple[dict[str, dict], datetime | None]:
    """Return the credential report by user name, and when AWS generated it."""
    answer = _downloaded(iam, sleep, again=True)
    content = answer["Content"]
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    rows = {row["user"]: row for row in csv.DictReader(io.StringIO(text)) if row.get("user") != "<root_account>"}
    return rows, aware(answer.get("GeneratedTime"))


def _downloaded(iam: Any, sleep: Callable[[float], None], again: bool) -> dict:
    """Generate the report and download it; it can expire or vanish between the two calls, hence once `again`."""
    _generate(iam, sleep)
    try:
        return aws.call(iam, "GetCredentialReport")
    except AwsError as err:
        if err.code not in _NOT_READY:
            raise
    if again:
        return _downloaded(iam, sleep, again=False)
    raise ReportNotReady()


def _generate(iam: Any, sleep: Callable[[float], None]) -> None:
    """Ask AWS to (re)build the report and wait, with bounded backoff, until it is complete."""
    for delay in (0.0, *BACKOFF):
        if delay:
            sleep(delay)
        if aws.call(iam, "GenerateCredentialReport").get("State") == "COMPLETE":
            return
    raise ReportNotReady()


def policy_coverage(iam: Any, policy_arn: str, fetched: list | None = None) -> tuple[dict[str, str], bool]:
    """Map user name to how the force-MFA policy reaches them ("direct" or "group:<names>")."""
    fetched = fetched if fetched is not None else []
    direct, groups = set(), []
    marker = None
    try:
        while True:
            page = aws.call(iam, "ListEntitiesForPolicy", PolicyArn=policy_arn, MaxItems=PAGE,
                            **({"Marker": marker} if marker else {}))
            users, found = page.get("PolicyUsers", []), page.get("PolicyGroups", [])
            direct.update(u["UserName"] for u in users)
            groups.extend(g["GroupName"] for g in found)
            fetched.append(("ListEntitiesForPolicy", len(users) + len(found) + len(page.get("PolicyRoles", []))))
            if not page.get("IsTruncated"):
                break
            marker = page["Marker"]
        if not direct and not groups:
            # Attached to nobody, or not there at all? (moto answers an empty list for a missing policy.)
            aws.call(iam, "GetPolicy", PolicyArn=policy_arn)
    except AwsError as err:
        if err.code == "NoSuchEntity":
            return {}, False
        raise
    via: dict[str, list[str]] = {}
    for group in sorted(groups):
        for member in _listed(iam, fetched, "GetGroup", "Users", GroupName=group):
            via.setdefault(member["UserName"], []).append(group)
    coverage = {name: GROUP_PREFIX + ",".join(names) for name, names in via.items()}
    coverage.update(dict.fromkeys(direct, DIRECT))
    return coverage, True


def build_rows(users: list[dict], devices: list[dict], credentials: dict[str, dict],
               coverage: dict[str, str] | None, device_pattern: str, account: str) -> tuple[list[UserRow], list[str]]:
    """Join the lists into one row per user, and name unassigned devices that match no user."""
    assigned: dict[str, list[tuple[str, datetime | None]]] = {}
    unassigned: set[str] = set()
    for device in devices:
        name = device["SerialNumber"].rsplit("/", 1)[-1]
        owner = (device.get("User") or {}).get("UserName")
        if owner:
            assigned.setdefault(owner, []).append((name, aware(device.get("EnableDate"))))
        else:
            unassigned.add(name)
    claimed: set[str] = set()
    rows = []
    for user in sorted(users, key=lambda u: u["UserName"]):
        name = user["UserName"]
        own = sorted(assigned.get(name, []))
        report = credentials.get(name, {})
        if own:
            status = VIRTUAL
        elif report.get("mfa_active") == "true":
            status = OTHER  # MFA is on, but not a virtual device: hardware token or FIDO key
        else:
            status = NONE
        # The force-MFA policy only lets a user create a device named by the pattern, so that name is theirs.
        stale = {device_pattern.format(username=name, account=account), name} & unassigned
        claimed |= stale
        dates = [d for _, d in own if d]
        rows.append(UserRow(
            user_name=name, arn=user["Arn"], created=aware(user.get("CreateDate")), mfa_status=status,
            device_names=", ".join(n for n, _ in own) or None, enabled_at=min(dates) if dates else None,
            password_enabled=_flag(report.get("password_enabled")),
            key_last_used=_latest(report.get("access_key_1_last_used_date"), report.get("access_key_2_last_used_date")),
            covered_by=UNKNOWN if coverage is None else coverage.get(name, NOT_COVERED), abandoned=bool(stale),
        ))
    return rows, sorted(unassigned - claimed)


def _flag(value: str | None) -> bool | None:
    """Read a credential-report yes/no column ("not_supported" and absent mean unknown)."""
    return {"true": True, "false": False}.get(value or "")


def _latest(*values: str | None) -> datetime | None:
    """Return the latest of credential-report dates, skipping "N/A" and "no_information"."""
    dates = []
    for value in values:
        try:
            dates.append(aware(datetime.fromisoformat(value or "")))
        except ValueError:
            continue
    return max(dates) if dates else None


class UnknownUser(Refusal):
    """The admin asked about an IAM user that does not exist (any more)."""

    status = 404
    title = "No such IAM user"


def user_devices(iam: Any, user_name: str) -> list[Device]:
    """List one user's MFA devices, hardware and FIDO included (the per-user call, for drill-down only)."""
    try:
        answer = aws.call(iam, "ListMFADevices", UserName=user_name)
    except AwsError as err:
        if err.code == "NoSuchEntity":
            raise UnknownUser(f"There is no IAM user named {user_name} in this account.",
                              "It may have been deleted since the last refresh; refresh the dashboard.") from None
        raise
    return [Device(d["SerialNumber"], aware(d.get("EnableDate"))) for d in answer.get("MFADevices", [])]

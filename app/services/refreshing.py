"""The admin refresh flow: read every user's enrollment with the admin's MFA session, keep a snapshot."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from ..models import ReportSnapshot
from . import audit, reporting, snapshots
from .audit import Action
from .identity import Caller


def refresh(iam_with_mfa: Any, actor: audit.Actor, caller: Caller, policy_arn: str | None, policy_name: str,
            device_pattern: str, retention_days: int = snapshots.RETENTION_DAYS) -> ReportSnapshot:
    """Collect the report (a handful of account-wide calls), store it, record what it cost, drop expired ones."""
    arn = reporting.force_mfa_policy_arn(policy_arn, policy_name, caller.partition, caller.account)
    started = time.monotonic()
    # GenerateCredentialReport changes state at AWS: the attempt is recorded before it.
    with audit.attempt(Action.ADMIN_REFRESH, actor) as attempt:
        with reporting.counting_calls() as calls:
            try:
                report = reporting.collect(iam_with_mfa, arn, device_pattern, caller.account)
            finally:
                attempt.add(calls=calls.total())
        snapshot = snapshots.save(report, actor.arn, calls.total(), time.monotonic() - started)
        attempt.add(rows=snapshot.users)
    snapshots.purge_snapshots(datetime.now(UTC) - timedelta(days=retention_days))  # as `flask snapshots purge`
    return snapshot

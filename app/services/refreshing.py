"""The admin refresh flow: read every user's enrollment with the admin's MFA session, keep a snapshot."""

from __future__ import annotations

import time
from typing import Any

from ..models import ReportSnapshot
from . import audit, findings, reporting, snapshots
from .audit import Action
from .identity import Caller


def refresh(iam_with_mfa: Any, actor: audit.Actor, caller: Caller, policy_arn: str | None, policy_name: str,
            device_pattern: str, retention_days: int = snapshots.RETENTION_DAYS,
            limits: findings.Thresholds | None = None, email_tag: str | None = None) -> ReportSnapshot:
    """Collect the report (a handful of account-wide calls), judge and store it, record what it cost."""
    arn = reporting.force_mfa_policy_arn(policy_arn, policy_name, caller.partition, caller.account)
    started = time.monotonic()
    # GenerateCredentialReport changes state at AWS: the attempt is recorded before it.
    with audit.attempt(Action.ADMIN_REFRESH, actor) as attempt:
        with reporting.counting_calls() as calls:
            try:
                report = reporting.collect(iam_with_mfa, arn, device_pattern, caller.account, email_tag=email_tag)
            finally:
                attempt.add(calls=calls.total())
        # save() also purges snapshots older than retention_days (as `flask snapshots purge`), in its transaction.
        snapshot = snapshots.save(report, actor.arn, calls.total(), time.monotonic() - started, limits=limits,
                                  retention_days=retention_days)
        attempt.add(rows=snapshot.users)
    return snapshot

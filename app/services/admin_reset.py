"""An admin resets another user's lost MFA device: deactivated and deleted, audited with attempt and outcome."""

from __future__ import annotations

from typing import Any

from . import audit, devices
from .audit import Action


def reset_device(iam_with_mfa: Any, actor: audit.Actor, user_name: str, serial: str, reason: str) -> None:
    """Deactivate and delete one of the user's devices (DeactivateMFADevice, DeleteVirtualMFADevice).

    The serial is one AWS listed for the user when the form was built; the attempt is recorded before AWS is
    asked (or nothing is asked: AuditUnavailable), and AWS's refusals are raised as domain errors after the
    outcome is recorded. A device already gone counts as reset, so a repeated request confirms it.
    """
    with audit.attempt(Action.ADMIN_RESET, actor, subject=user_name, device=serial, reason=reason):
        devices.remove_device(iam_with_mfa, user_name, serial)

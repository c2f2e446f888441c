"""MFA devices of the signed-in user: list, create (recovering stale ones), enable, resync, remove.

Also a hardware TOTP token and backup virtual devices where the policy allows; the enrollment flow
built on these is `devices.enrollment`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _

from ... import aws
from ...domain import Caller, Device
from ...errors import AwsError, CodeRejected, DeviceProblem, InvalidInput, LimitReached

if TYPE_CHECKING:
    from ...sessions import PortalSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewDevice:
    """A freshly created, not yet enabled virtual device and its seed."""

    serial: str
    seed: str
    replaced_stale: bool


def device_name(caller: Caller, pattern: str) -> str:
    """Name the device from the configured pattern (the seed policy wants exactly the user name)."""
    return pattern.format(username=caller.user_name, account=caller.account)


# How long this session may reuse AWS's device list: a flow's next page comes seconds later, and the portal
# forgets the list before every change it makes itself. AWS stays the judge of every action: a device
# removed elsewhere within this minute fails its next call with a clear message, then the list is fresh.
DEVICES_FRESH_SECONDS = 60


def owned(state: PortalSession, fresh: bool = False, including: str | None = None) -> list[Device]:
    """Return the person's devices, reusing this session's list of the last minute unless `fresh`.

    `including`: a serial the person just picked; if the remembered list lacks it (a device added
    elsewhere meanwhile), AWS is asked again rather than the choice refused.
    """
    remembered = None if fresh else state.cached_devices(DEVICES_FRESH_SECONDS)
    if remembered is not None and (not including or any(device.serial == including for device in remembered)):
        return remembered
    found = list_devices(state.client("iam"), state.caller)
    state.keep_devices(found)
    return found


def code_givers(state: PortalSession, including: str | None = None) -> list[Device]:
    """Return the person's devices that give codes (virtual and hardware TOTP), as owned() finds them."""
    return [device for device in owned(state, including=including) if device.gives_codes]


def keep_enabled_alone(state: PortalSession, serial: str) -> None:
    """Remember that the person's only device is the one AWS has just enabled."""
    state.keep_devices([Device(serial, datetime.now(UTC))])


def list_devices(iam: Any, caller: Caller) -> list[Device]:
    """Return the user's MFA devices (the only call that also sees hardware and FIDO)."""
    answer = aws.call(iam, "ListMFADevices", UserName=caller.user_name)
    return [Device(d["SerialNumber"], d.get("EnableDate")) for d in answer.get("MFADevices", [])]


def create_device(iam: Any, caller: Caller, name: str) -> NewDevice:
    """Create the virtual device, deleting the user's own abandoned one if AWS says it exists."""
    replaced = False
    try:
        answer = _create(iam, name)
    except AwsError as err:
        if err.code != "EntityAlreadyExists":
            raise
        _delete_own_unassigned(iam, caller, name)
        replaced = True
        answer = _create(iam, name)
    device = answer["VirtualMFADevice"]
    seed = device["Base32StringSeed"]
    return NewDevice(device["SerialNumber"], seed.decode() if isinstance(seed, bytes) else seed, replaced)


def _create(iam: Any, name: str) -> dict:
    """Call CreateVirtualMFADevice without tags (TagMFADevice is denied before MFA)."""
    return aws.call(iam, "CreateVirtualMFADevice", VirtualMFADeviceName=name, Path="/")


def _delete_own_unassigned(iam: Any, caller: Caller, name: str) -> None:
    """Delete the stale device with this name, but only if nobody has it assigned."""
    serial = caller.mfa_serial(name)
    stale = [d for d in aws.pages(iam, "ListVirtualMFADevices", "VirtualMFADevices", AssignmentStatus="Unassigned")
             if d["SerialNumber"] == serial]
    if not stale:
        raise DeviceProblem(
            _("An MFA device named '%(name)s' already exists and is assigned, so the portal cannot replace it.",
              name=name),
            _("If it is yours, use it to get credentials; if you lost it, ask an administrator to reset it."),
        )
    log.info("deleting abandoned virtual MFA device for %s", caller.user_name)
    aws.call(iam, "DeleteVirtualMFADevice", SerialNumber=serial)


def enable_device(iam: Any, caller: Caller, serial: str, code1: str, code2: str) -> None:
    """Attach the device to the user with two consecutive codes; a retry after success is fine."""
    try:
        _send_codes(iam, "EnableMFADevice", caller, serial, code1, code2)
    except AwsError as err:
        if err.code == "InvalidAuthenticationCode":
            raise CodeRejected(
                _("AWS did not accept those two codes for this device."),
                _("Check your app shows the entry you just scanned, then type the code it shows now, "
                  "wait for it to change, and type the next one."),
            ) from None
        if err.code == "EntityAlreadyExists" and any(d.serial == serial for d in list_devices(iam, caller)):
            return  # enabled by an earlier attempt whose answer we never saw
        if err.code in {"NoSuchEntity", "EntityAlreadyExists"}:
            raise DeviceProblem(
                _("This device can no longer be enabled (it was removed or replaced meanwhile)."),
                _("Start the enrollment again to get a new QR code."),
            ) from None
        raise


def resync_device(iam: Any, caller: Caller, serial: str, code1: str, code2: str) -> None:
    """Bring a drifted device back in step with two consecutive codes."""
    try:
        _send_codes(iam, "ResyncMFADevice", caller, serial, code1, code2)
    except AwsError as err:
        if err.code == "InvalidAuthenticationCode":
            raise CodeRejected(
                _("AWS could not match those two codes to this device."),
                _("Type two codes in a row from the entry for this account; if it still fails, "
                  "your device may be lost: ask an administrator to reset it."),
            ) from None
        if err.code == "NoSuchEntity":
            raise DeviceProblem(_("That device is not assigned to you any more."), _("Reload the page.")) from None
        raise


def _send_codes(iam: Any, operation: str, caller: Caller, serial: str, code1: str, code2: str) -> None:
    """Send two consecutive codes for the caller's own device."""
    aws.call(iam, operation, UserName=caller.user_name, SerialNumber=serial,
             AuthenticationCode1=code1, AuthenticationCode2=code2)


def remove_device(iam_with_mfa: Any, user_name: str, serial: str) -> None:
    """Deactivate and delete a device; needs MFA session credentials under the force-MFA policy."""
    try:
        aws.call(iam_with_mfa, "DeactivateMFADevice", UserName=user_name, SerialNumber=serial)
    except AwsError as err:
        if err.code != "NoSuchEntity":  # already deactivated by an earlier attempt
            raise
    if ":mfa/" in serial:
        try:
            aws.call(iam_with_mfa, "DeleteVirtualMFADevice", SerialNumber=serial)
        except AwsError as err:
            if err.code != "NoSuchEntity":
                raise


# More devices than the one enrolled: a hardware TOTP token, a backup virtual device.
MAX_DEVICES = 8  # AWS's quota of MFA devices per user, any mix
_SERIAL = re.compile(r"^[A-Z0-9]{9,32}$")


def check_serial(text: str | None) -> str:
    """Return a hardware token's serial as AWS expects it (printed on its back, e.g. GAHT12345678)."""
    serial = re.sub(r"[\s-]", "", text or "").upper()
    if not _SERIAL.match(serial):
        raise InvalidInput(_("A hardware token's serial number is 9 to 32 letters and digits, printed on its back "
                             "(for example GAHT12345678)."), _("Type it without spaces."))
    return serial


# A backup's short name, as the form accepts it: it becomes part of an IAM device name ([\w+=,.@-]).
LABEL_PATTERN = r"^[A-Za-z0-9-]{1,20}$"


def backup_allowed(backup_pattern: str) -> bool:
    """Tell whether the administrators named backup devices (their policy then allows more than mfa/<user>)."""
    # The seed policy's mfa/${aws:username} allows one virtual device, so backups are off unless configured.
    return bool(backup_pattern.strip())


def check_backup_pattern(backup_pattern: str) -> None:
    """Refuse at start-up a backup pattern that would give every backup device the same name."""
    if backup_pattern.strip() and "{label}" not in backup_pattern:
        raise ValueError("MFA_BACKUP_NAME_PATTERN must contain {label}, for example {username}-{label}")


def backup_name(caller: Caller, backup_pattern: str, label: str) -> str:
    """Name a backup device from the pattern and the label the form accepted (LABEL_PATTERN)."""
    return backup_pattern.format(username=caller.user_name, account=caller.account, label=label)


def enable_hardware(iam: Any, caller: Caller, serial: str, code1: str, code2: str, owned: int) -> None:
    """Assign a hardware TOTP token to the caller with two consecutive codes (EnableMFADevice)."""
    if owned >= MAX_DEVICES:
        raise LimitReached(_("AWS allows %(n)d MFA devices per user and you have %(n)d.", n=MAX_DEVICES),
                           _("Remove one you no longer use first."))
    try:
        enable_device(iam, caller, serial, code1, code2)
    except CodeRejected:
        raise CodeRejected(_("AWS did not accept those two codes for this token."),
                           _("Press the token's button, type the code, press again and type the next one.")) from None
    except DeviceProblem:
        raise DeviceProblem(_("AWS does not know a hardware token with this serial number, or it is assigned to "
                              "someone else."), _("Check the serial on the token's back.")) from None
    except AwsError as err:
        if err.code == "LimitExceeded":
            raise LimitReached(_("AWS allows %(n)d MFA devices per user.", n=MAX_DEVICES),
                               _("Remove one first.")) from None
        raise

"""More MFA devices: a hardware TOTP token, a backup virtual device where the policy allows, removing one."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _

from ...errors import AwsError, CodeRejected, DeviceProblem, InvalidInput, LimitReached
from .. import devices
from ..identity import Caller

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
        devices.enable_device(iam, caller, serial, code1, code2)
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


def remove(iam_with_mfa: Any, user_name: str, serial: str) -> None:
    """Deactivate a device (and delete it if virtual), with the MFA session the policy demands."""
    devices.remove_device(iam_with_mfa, user_name, serial)

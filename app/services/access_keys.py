"""The signed-in person's own access keys: list, create, activate or deactivate (own status and delete: kinds.py)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _

from .. import aws
from ..clock import aware
from ..domain import NewKey
from ..errors import AwsAccessDenied, AwsError, AwsUnavailable
from . import audit
from .refusals import refused

if TYPE_CHECKING:
    from ..sessions import PortalSession

MAX_KEYS = 2  # AWS's quota of access keys per IAM user
HIDDEN = "hidden"  # last use not readable under the account's policy (no iam:GetAccessKeyLastUsed)
NEEDS_MFA = "needs-mfa"  # not asked: every policy of this kind denies GetAccessKeyLastUsed before MFA


@dataclass(frozen=True)
class AccessKey:
    """One access key as ListAccessKeys shows it, and whether this portal session signs with it."""

    key_id: str
    status: str
    created: datetime
    in_use: bool = False
    last_used: datetime | str | None = NEEDS_MFA  # a time, None (never used), HIDDEN or NEEDS_MFA
    last_service: str | None = None

    def age_days(self, now: datetime | None = None) -> int:
        """Return the key's age in whole days."""
        return ((now or datetime.now(UTC)) - self.created).days

    def older_than(self, days: int) -> bool:
        """Tell whether the key is older than `days` (FINDINGS_KEY_AGE_DAYS: IAM.3 fails after that many days)."""
        return self.age_days() > days


def list_keys(iam: Any, user_name: str, in_use: str) -> list[AccessKey]:
    """Return the user's keys, oldest first, marking the one this portal session signs with."""
    rows = aws.call(iam, "ListAccessKeys", UserName=user_name).get("AccessKeyMetadata", [])
    keys = [AccessKey(r["AccessKeyId"], r["Status"], aware(r["CreateDate"]), r["AccessKeyId"] == in_use)
            for r in rows]
    return sorted(keys, key=lambda k: k.created)


def with_last_use(iam: Any, keys: list[AccessKey]) -> list[AccessKey]:
    """Add each key's last use where the policy allows GetAccessKeyLastUsed; say HIDDEN where it does not."""
    seen = []
    for key in keys:
        try:
            used = aws.call(iam, "GetAccessKeyLastUsed", AccessKeyId=key.key_id).get("AccessKeyLastUsed", {})
        except (AwsAccessDenied, AwsUnavailable):
            # The seed policy does not allow it; a nicety must never cost the page.
            return [AccessKey(k.key_id, k.status, k.created, k.in_use, HIDDEN) for k in keys]
        when = used.get("LastUsedDate")
        seen.append(AccessKey(key.key_id, key.status, key.created, key.in_use, aware(when) if when else None,
                              used.get("ServiceName") if used.get("ServiceName") != "N/A" else None))
    return seen


def create_key(iam: Any, user_name: str) -> NewKey:
    """Create a new key; AWS returns its secret in this answer and never again."""
    with refused(_("access key"), limit=_("AWS allows two access keys per user and you have two. Deactivate or "
                                          "delete the one the portal is not using, then rotate.")):
        made = aws.call(iam, "CreateAccessKey", UserName=user_name)["AccessKey"]
    return NewKey(made["AccessKeyId"], made["SecretAccessKey"], aware(made["CreateDate"]))


def set_status(iam: Any, user_name: str, key_id: str, active: bool) -> None:
    """Activate or deactivate one of the user's keys."""
    with refused(_("access key")):
        aws.call(iam, "UpdateAccessKey", UserName=user_name, AccessKeyId=key_id,
                 Status="Active" if active else "Inactive")



@dataclass(frozen=True)
class OwnCredentials:
    """What an admin sees of a user's own credentials: keys (age, status) and whether a console password exists."""

    keys: list[AccessKey]
    console_password: bool | None  # None: AWS did not say (denied or not answering)


def of_user(iam_with_mfa: Any, user_name: str) -> OwnCredentials:
    """Read another user's keys and console-password state with an admin's MFA session."""
    keys = list_keys(iam_with_mfa, user_name, in_use="")
    try:
        aws.call(iam_with_mfa, "GetLoginProfile", UserName=user_name)
        password: bool | None = True
    except AwsError as err:
        password = False if err.code == "NoSuchEntity" else None
    except (AwsAccessDenied, AwsUnavailable):
        password = None
    return OwnCredentials(keys, password)


class KeyOrigin(enum.StrEnum):
    """Who made an access key, as far as the portal knows."""

    PERSON = "person"  # the portal's audit shows the person creating it here (a rotation)
    ADMINISTRATOR = "administrator"  # it predates the person's first MFA device: someone else made it and saw it
    UNKNOWN = "unknown"  # the portal cannot tell: it says nothing


def key_origin(user_name: str, key: AccessKey) -> KeyOrigin:
    """Tell who made one of the person's keys from the portal's own audit, never from the devices listed today.

    A key that predates the person's first MFA device was made by someone else: the force-MFA policy lets
    nobody create their own key without MFA. Devices listed today may be younger than the first one (a token
    added, the phone removed), so only the audit's first enrollment counts; without it the portal says nothing.
    """
    history = audit.key_history(user_name, key.key_id)
    if history is None:
        return KeyOrigin.UNKNOWN
    if history.created_here:
        return KeyOrigin.PERSON
    if history.first_device_at is not None and key.created < aware(history.first_device_at):
        return KeyOrigin.ADMINISTRATOR
    return KeyOrigin.UNKNOWN


def handed_over_key(state: PortalSession, keys: list[AccessKey] | None = None) -> str | None:
    """Return the ID of the key in use if the portal knows an administrator made it (and so has seen its secret).

    `keys`: the person's keys if the caller has just listed them (the home page's to-do list has).
    """
    in_use = state.keys().access_key_id
    user_name = state.caller.user_name
    if state.enrolled_first_with == in_use:
        return in_use  # this session signed in with it, then enabled the person's first device
    listed = keys if keys is not None else list_keys(state.client("iam"), user_name, in_use)
    key = next((k for k in listed if k.in_use), None)
    return key.key_id if key and key_origin(user_name, key) is KeyOrigin.ADMINISTRATOR else None


def unfinished_rotation(user_name: str, keys: list[AccessKey]) -> tuple[str, str] | None:
    """Return (old, new) while a rotation made here has left its old key beside the new one."""
    ids = {k.key_id for k in keys}
    for key in sorted(keys, key=lambda k: k.created, reverse=True) if len(keys) > 1 else []:
        history = audit.key_history(user_name, key.key_id)
        if history and history.replaced in ids - {key.key_id}:
            return history.replaced, key.key_id
    return None

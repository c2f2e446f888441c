"""The signed-in person's own to-do list: the findings they can fix themselves, from what the portal already knows."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ..errors import AwsAccessDenied, AwsError, AwsUnavailable
from . import access_keys, login_profile
from .access_keys import AccessKey

if TYPE_CHECKING:
    from ..sessions import PortalSession
    from .devices import Device

# The control ids the admin's findings use (app/services/findings.py), so both sides name a finding alike.
KEY_AGE = "IAM.3"
CONSOLE_WITHOUT_MFA = "IAM.5"
NO_MFA = "IAM.19"
TWO_ACTIVE_KEYS = "CIS.two-active-keys"


class Kind(enum.Enum):
    """What the person has to do; each kind has one fix in the portal."""

    SET_UP_MFA = "set-up-mfa"  # enrollment
    ROTATE_KEY = "rotate-key"  # the rotation flow, for the key the portal signs with
    RETIRE_KEY = "retire-key"  # deactivate or delete another active key (the keys page's actions)
    SET_PASSWORD = "set-password"  # noqa: S105  # nosec B105  # a console password, where the company wants one (no secret)


@dataclass(frozen=True)
class Item:
    """One open finding the person can fix, with the control ids it closes."""

    kind: Kind
    controls: tuple[str, ...] = ()
    key: AccessKey | None = None  # the key a key item is about
    key_age_days: int | None = None  # set when the key is older than the threshold (IAM.3)
    handed_over: bool = False  # the key in use was made, and seen, by an administrator


@dataclass(frozen=True)
class Facts:
    """What the home page knows about the person, all from calls the force-MFA policy allows in their state.

    `keys` is None where the portal did not list them (before the first device: no key fix is possible
    without MFA, so the list is not asked for). `console_password` is None where AWS was not asked
    (GetLoginProfile needs an MFA session) or did not answer.
    """

    has_device: bool
    keys: list[AccessKey] | None = None
    handed_over: str | None = None  # the ID of the key in use if an administrator made it
    console_password: bool | None = None
    password_wanted: bool = False  # TODO_CONSOLE_PASSWORD


def items(facts: Facts, now: datetime, key_age_days: int) -> list[Item]:
    """Return the person's open items in the order they can be fixed: MFA, the other key, the key in use, password."""
    if not facts.has_device:
        # IAM.5 is IAM.19 with a console password: one fix (a device) closes both, so it is one item.
        controls = (CONSOLE_WITHOUT_MFA, NO_MFA) if facts.console_password else (NO_MFA,)
        return [Item(Kind.SET_UP_MFA, controls)]
    found: list[Item] = []
    active = [k for k in facts.keys or [] if k.status == "Active"]
    # The other key first: AWS allows two keys, so a rotation can start only once the other one is gone.
    for key in sorted(active, key=lambda k: k.in_use):
        age = key.age_days(now)
        old = age > key_age_days  # strictly more, as Security Hub IAM.3 and Prowler judge
        if key.in_use and (old or facts.handed_over == key.key_id):
            found.append(Item(Kind.ROTATE_KEY, (KEY_AGE,) if old else (), key, age if old else None,
                              facts.handed_over == key.key_id))
        elif not key.in_use:
            # Another active key beside the one in use: two active keys (CIS); old as well, IAM.3 too.
            controls = ((KEY_AGE,) if old else ()) + ((TWO_ACTIVE_KEYS,) if len(active) > 1 else ())
            if controls:
                found.append(Item(Kind.RETIRE_KEY, controls, key, age if old else None))
    if facts.password_wanted and facts.console_password is False:
        found.append(Item(Kind.SET_PASSWORD))
    return found


def gather(state: PortalSession, owned: list[Device], password_wanted: bool) -> Facts:
    """Ask AWS only what the person's MFA state allows and the list needs; reuse the device list the page has."""
    if not owned:
        # Before MFA nothing but enrollment can be fixed; GetLoginProfile is asked only with an MFA
        # session (a person who removed their last device while holding one), to name IAM.5.
        return Facts(False, console_password=_console_password(state))
    iam = state.client("iam")
    keys = access_keys.list_keys(iam, state.caller.user_name, state.keys().access_key_id)  # allowed before MFA
    handed = access_keys.handed_over_key(state, keys)  # from the portal's audit, not today's devices
    password = _console_password(state) if password_wanted else None  # None without an MFA session
    return Facts(True, keys, handed, password, password_wanted)


def _console_password(state: PortalSession) -> bool | None:
    """Tell whether the person has a console password (GetLoginProfile, MFA session); None if AWS did not say."""
    if state.mfa_credentials is None:
        return None
    try:
        return login_profile.profile(state.mfa_client("iam"), state.caller.user_name) is not None
    except (AwsError, AwsAccessDenied, AwsUnavailable):
        return None  # a nicety: the list goes without this item rather than the page failing

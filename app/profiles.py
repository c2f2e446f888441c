"""AWS CLI profile names and the roles offered as profiles: read by config at start-up, so nothing heavy here."""

from __future__ import annotations

import re
from dataclasses import dataclass

# What the AWS CLI takes as a profile name in ~/.aws/config and ~/.aws/credentials (the one definition).
PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")


@dataclass(frozen=True)
class Role:
    """A role the administrators offer as an AWS CLI profile."""

    profile: str
    arn: str
    duration: int = 3600

    @property
    def account(self) -> str:
        """Return the role's account ID."""
        return self.arn.split(":")[4]

    @property
    def name(self) -> str:
        """Return the role's name with its path, as the console's switch-role page wants it."""
        return self.arn.split(":role/", 1)[1]


def parse_roles(text: str | None) -> list[Role]:
    """Read CLI_ROLES: whitespace-separated `profile=role_arn` or `profile=role_arn|seconds` (900-43200)."""
    roles = []
    for item in (text or "").split():
        profile, _, rest = item.partition("=")
        arn, _, seconds = rest.partition("|")
        if not PROFILE_NAME.match(profile) or not _ROLE_ARN.match(arn):
            raise ValueError(f"{item!r} is not profile=arn:aws:iam::<12-digit account>:role/<name>[|seconds]")
        if seconds and not (seconds.isdigit() and 900 <= int(seconds) <= 43_200):
            raise ValueError(f"{item!r}: the duration must be 900 to 43200 seconds")
        roles.append(Role(profile, arn, int(seconds or 3600)))
    if len({r.profile for r in roles}) != len(roles):
        raise ValueError("two roles share a profile name")
    return roles

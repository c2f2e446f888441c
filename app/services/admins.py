"""Who is an admin: named users, or members of named IAM groups (checked with MFA credentials)."""

from __future__ import annotations

import logging
from typing import Any

from .. import aws
from ..errors import AwsAccessDenied, AwsUnavailable

log = logging.getLogger(__name__)


def is_admin(iam_with_mfa: Any, user_name: str, admin_users: list[str], admin_groups: list[str]) -> bool:
    """Tell whether the configuration makes this user an admin."""
    if user_name in admin_users:
        return True
    if not admin_groups:
        return False
    try:
        groups = {g["GroupName"] for g in aws.pages(iam_with_mfa, "ListGroupsForUser", "Groups", UserName=user_name)}
    except (AwsAccessDenied, AwsUnavailable) as err:
        # Fail closed, but quietly: the credentials just issued must still reach the person.
        log.info("cannot list groups of %s (%s); not treated as admin", user_name, type(err).__name__)
        return False
    return bool(groups & set(admin_groups))

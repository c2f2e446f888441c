"""Files for a long-term key and the AWS CLI: the console's CSV, a credentials profile, ~/.aws/config blocks."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from ..profiles import Role
from .access_keys import NewKey
from .formats import check_profile
from .login_profile import SIGN_IN_HOSTS

LONG_TERM_PROFILE = "long-term"  # kept apart from "default", which often holds session credentials


def console_csv(new: NewKey) -> str:
    """Return the key in the AWS console's download format (accessKeys.csv)."""
    return f"Access key ID,Secret access key\n{new.key_id},{new.secret}\n"


def credentials_profile(new: NewKey, profile: str = LONG_TERM_PROFILE, region: str | None = None) -> str:
    """Return a ~/.aws/credentials block for the long-term key, apart from whatever the file ends with."""
    return (f"\n[{check_profile(profile)}]\n"
            f"aws_access_key_id = {new.key_id}\n"
            f"aws_secret_access_key = {new.secret}\n"
            + (f"region = {region}\n" if region else ""))


def data_uri(text: str, mime: str) -> str:
    """Embed a file in the page itself, so a download needs no second request that could show the secret again."""
    return f"data:{mime};charset=utf-8,{quote(text, safe='')}"


def config_blocks(source: str, region: str, mfa_serial: str | None, roles: list[Role]) -> str:
    """Return ~/.aws/config blocks: the long-term profile, then one role profile each that asks for the code."""
    lines = [f"[profile {check_profile(source)}]", f"region = {region}", ""]
    for role in roles:
        lines += [f"[profile {role.profile}]", f"role_arn = {role.arn}", f"source_profile = {source}"]
        if mfa_serial:
            lines.append(f"mfa_serial = {mfa_serial}")
        lines += [f"duration_seconds = {role.duration}", f"region = {region}", ""]
    return "\n".join(lines)


def switch_role_url(role: Role) -> str:
    """Return the AWS console's switch-role link for a role."""
    query = urlencode({"roleName": role.name, "account": role.account, "displayName": role.profile})
    host = SIGN_IN_HOSTS.get(role.arn.split(":")[1], SIGN_IN_HOSTS["aws"])
    return f"https://{host}/switchrole?{query}"

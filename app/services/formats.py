"""Credential snippets in the formats the AWS CLI, SDKs and shells read."""

from __future__ import annotations

import json
import re

from ..errors import InvalidInput
from .credentials import SessionCredentials

_PROFILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

FORMATS = {
    "ini": "~/.aws/credentials",
    "bash": "bash / zsh",
    "fish": "fish",
    "powershell": "PowerShell",
    "credential_process": "credential_process JSON",
}


def check_profile(name: str | None) -> str:
    """Validate a profile name so it cannot break or inject into the INI file."""
    name = (name or "").strip()
    if not _PROFILE.match(name):
        raise InvalidInput(
            "A profile name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.",
            "For example: default, work or acme-mfa.",
        )
    return name


def render(fmt: str, creds: SessionCredentials, profile: str = "default") -> str:
    """Return one snippet; long-term keys never appear in any of them."""
    expiry = creds.expiration.strftime("%Y-%m-%dT%H:%M:%SZ")
    if fmt == "ini":
        return (f"[{check_profile(profile)}]\n"
                f"aws_access_key_id = {creds.access_key_id}\n"
                f"aws_secret_access_key = {creds.secret_access_key}\n"
                f"aws_session_token = {creds.session_token}\n"
                f"# expires {expiry}: the AWS CLI ignores this line, so note the time yourself\n")
    values = {"AWS_ACCESS_KEY_ID": creds.access_key_id, "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
              "AWS_SESSION_TOKEN": creds.session_token}
    if fmt == "bash":
        return "".join(f"export {k}='{v}'\n" for k, v in values.items()) + f"# expires {expiry}\n"
    if fmt == "fish":
        return "".join(f"set -gx {k} '{v}'\n" for k, v in values.items()) + f"# expires {expiry}\n"
    if fmt == "powershell":
        return "".join(f'$Env:{k} = "{v}"\n' for k, v in values.items()) + f"# expires {expiry}\n"
    if fmt == "credential_process":
        return json.dumps({"Version": 1, "AccessKeyId": creds.access_key_id,
                           "SecretAccessKey": creds.secret_access_key,
                           "SessionToken": creds.session_token, "Expiration": expiry}, indent=2) + "\n"
    raise InvalidInput("Unknown format.", "Pick one of the tabs.")

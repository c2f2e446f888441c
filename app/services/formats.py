"""Credential snippets in the formats the AWS CLI, SDKs and shells read."""

from __future__ import annotations

import json

from flask_babel import gettext as _

from ..errors import InvalidInput
from ..profiles import PROFILE_NAME
from .session_credentials import SessionCredentials

# One rule for every profile name the portal writes (snippets, credentials files, CLI_ROLES, the rotate form).

FORMATS = {
    "ini": "~/.aws/credentials",
    "bash": "bash / zsh",
    "fish": "fish",
    "powershell": "PowerShell",
    "credential_process": "credential_process JSON",
}

# botocore reads this variable next to the three keys and refuses the credentials once it has passed,
# so the shells get the expiry as a value instead of a comment line (an interactive zsh runs "#" as a command).
EXPIRY_VARIABLE = "AWS_CREDENTIAL_EXPIRATION"


def check_profile(name: str | None) -> str:
    """Validate a profile name so it cannot break or inject into the INI file."""
    name = (name or "").strip()
    if not PROFILE_NAME.match(name):
        raise InvalidInput(
            _("A profile name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit."),
            _("For example: default, work or acme-mfa."),
        )
    return name


def render(fmt: str, creds: SessionCredentials, profile: str = "default", region: str | None = None) -> str:
    """Return one snippet; long-term keys never appear in any of them.

    The region goes along: on a fresh machine the AWS CLI otherwise stops at "You must specify a region".
    """
    expiry = creds.expiration.strftime("%Y-%m-%dT%H:%M:%SZ")
    if fmt == "ini":
        # The leading blank line keeps the block apart from a file whose last line has no newline.
        # botocore reads the credentials file's profiles as config too, so its region is honoured there.
        return (f"\n[{check_profile(profile)}]\n"
                f"aws_access_key_id = {creds.access_key_id}\n"
                f"aws_secret_access_key = {creds.secret_access_key}\n"
                f"aws_session_token = {creds.session_token}\n"
                + (f"region = {region}\n" if region else "")
                + f"# expires {expiry}: the AWS CLI does not read this line, so note the time yourself\n")
    values = {"AWS_ACCESS_KEY_ID": creds.access_key_id, "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
              "AWS_SESSION_TOKEN": creds.session_token, EXPIRY_VARIABLE: expiry}
    if region:
        # The CLI and Python read AWS_DEFAULT_REGION; most other SDKs read AWS_REGION.
        values |= {"AWS_REGION": region, "AWS_DEFAULT_REGION": region}
    # Every value is base64, alphanumerics or an ISO time: none holds a single quote to escape.
    if fmt == "bash":
        return "".join(f"export {k}='{v}'\n" for k, v in values.items())
    if fmt == "fish":
        return "".join(f"set -gx {k} '{v}'\n" for k, v in values.items())
    if fmt == "powershell":
        return "".join(f"$Env:{k} = '{v}'\n" for k, v in values.items())
    if fmt == "credential_process":
        return json.dumps({"Version": 1, "AccessKeyId": creds.access_key_id,
                           "SecretAccessKey": creds.secret_access_key,
                           "SessionToken": creds.session_token, "Expiration": expiry}, indent=2) + "\n"
    raise InvalidInput(_("Unknown format."), _("Pick one of the tabs."))


# Each format as a file: its name and type. Every snippet is one (the shells' to `source` or dot-source).
_FILES = {"ini": ("credentials-{profile}", "text/plain"), "bash": ("aws-{profile}.sh", "text/plain"),
          "fish": ("aws-{profile}.fish", "text/plain"), "powershell": ("aws-{profile}.ps1", "text/plain"),
          "credential_process": ("{profile}-credentials.json", "application/json")}


def file_name(fmt: str, profile: str) -> tuple[str, str]:
    """Return the download's file name and media type for a format."""
    if fmt not in _FILES:
        raise InvalidInput(_("Unknown format."), _("Pick one of the tabs."))
    name, mime = _FILES[fmt]
    return name.format(profile=check_profile(profile)), mime


def process_file(profile: str) -> dict[str, str]:
    """Where to save the credential_process JSON, on Linux/macOS and on Windows."""
    name = f"{check_profile(profile)}-credentials.json"
    return {"posix": f"~/.aws/{name}", "windows": f"%UserProfile%\\.aws\\{name}"}


def process_config(profile: str, region: str | None = None) -> dict[str, str]:
    """Return the ~/.aws/config block that runs credential_process for the saved JSON, per platform.

    botocore runs the command without a shell, so `~` and `%UserProfile%` need sh or cmd to expand them
    (and `type` is a cmd built-in, not a program). Quotes would not help on Windows: botocore strips them
    before cmd expands the variable, so a user folder with a space needs the full path written out.
    """
    files, section = process_file(profile), f"[profile {check_profile(profile)}]"
    where = f"region = {region}\n" if region else ""
    return {"posix": f'\n{section}\ncredential_process = sh -c "cat {files["posix"]}"\n{where}',
            "windows": f'\n{section}\ncredential_process = cmd /c type {files["windows"]}\n{where}'}

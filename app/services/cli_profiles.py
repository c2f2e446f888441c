"""Files for a long-term key and the AWS CLI: the console's CSV, a credentials profile, ~/.aws/config blocks."""

from __future__ import annotations

from urllib.parse import quote

from .access_keys import NewKey
from .formats import check_profile

LONG_TERM_PROFILE = "long-term"  # kept apart from "default", which often holds session credentials


def console_csv(new: NewKey) -> str:
    """Return the key in the AWS console's download format (accessKeys.csv)."""
    return f"Access key ID,Secret access key\n{new.key_id},{new.secret}\n"


def credentials_profile(new: NewKey, profile: str = LONG_TERM_PROFILE) -> str:
    """Return a ~/.aws/credentials block for the long-term key."""
    return (f"[{check_profile(profile)}]\n"
            f"aws_access_key_id = {new.key_id}\n"
            f"aws_secret_access_key = {new.secret}\n")


def data_uri(text: str, mime: str) -> str:
    """Embed a file in the page itself, so a download needs no second request that could show the secret again."""
    return f"data:{mime};charset=utf-8,{quote(text, safe='')}"

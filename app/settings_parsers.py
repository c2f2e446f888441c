"""Read one setting each: typed values, and the addresses and patterns whose mistakes stop start-up."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import urlsplit

from environs import Env
from limits import parse_many

from .profiles import parse_roles


class ConfigurationError(RuntimeError):
    """The portal cannot start safely with this configuration."""


def names(env: Env, name: str) -> list[str]:
    """A comma-separated list, blanks and stray spaces dropped ("alice, bob,," is two names)."""
    return [item.strip() for item in env.list(name, []) if item.strip()]


def text(env: Env, name: str, default: str | None = None) -> str | None:
    """A string where an empty value means the default, as it always has here."""
    return env.str(name, "") or default


def number(env: Env, name: str, default: int) -> int:
    """An integer where an empty value means the default (compose files often pass VAR= through)."""
    return env.int(name, default) if text(env, name) else default


def seconds(env: Env, name: str, default: float) -> float:
    """A duration in seconds, fractions allowed; empty means the default."""
    return env.float(name, default) if text(env, name) else default


def flag(env: Env, name: str, default: bool) -> bool:
    """A yes/no value (1/0, true/false, yes/no, on/off); empty means the default, anything else is an error."""
    return env.bool(name, default) if text(env, name) else default


def choice(env: Env, name: str, choices: tuple[str, ...], default: str) -> str:
    """One of a few words, any case; empty means the default, anything else stops start-up naming the variable."""
    value = (text(env, name, default) or default).strip().lower()
    if value not in choices:
        raise ConfigurationError(f"{name}: {value!r} is not one of {', '.join(choices)}")
    return value


def rate(env: Env, name: str, default: str) -> str:
    """A rate-limit rule in the `limits` syntax; one that does not parse stops start-up naming the variable."""
    value = text(env, name, default)
    try:
        parse_many(value)
    except ValueError as err:
        raise ConfigurationError(f"{name}: {err}; write it like '5 per minute;20 per hour'") from err
    return value


_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def webhook_urls(text: str) -> list[str]:
    """WEBHOOK_URLS: whitespace-separated; https, or http to this machine only (a receiver beside the portal)."""
    urls = text.split()
    for url in urls:
        parts = urlsplit(url)
        if not parts.hostname or parts.scheme not in ("https", "http"):
            raise ConfigurationError(f"WEBHOOK_URLS: {_redacted(url)} is not an https:// address")
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
            raise ConfigurationError(f"WEBHOOK_URLS: {_redacted(url)} must use https:// (plain http only to "
                                     "127.0.0.1 or localhost)")
    return urls


def _redacted(url: str) -> str:
    """A webhook address as far as its host: the path of a Slack or Teams URL is its secret."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}/..." if parts.hostname else "an entry"


def webhook_secret(text: str | None) -> str | None:
    """WEBHOOK_SECRET: whsec_ followed by base64, as Standard Webhooks libraries take it."""
    if not text:
        return None
    try:
        if not text.startswith("whsec_") or len(base64.b64decode(text.removeprefix("whsec_"), validate=True)) < 16:
            raise ValueError
    except (binascii.Error, ValueError):
        raise ConfigurationError("WEBHOOK_SECRET: write it as whsec_ followed by at least 16 random bytes in "
                                 "base64, e.g. python -c \"import base64,os; print('whsec_' + "
                                 "base64.b64encode(os.urandom(32)).decode())\"") from None
    return text


def smtp_url(text: str | None) -> str | None:
    """SMTP_URL: smtp://, smtp+starttls:// or smtps://, with an optional user:password@."""
    if text and (urlsplit(text).scheme not in ("smtp", "smtp+starttls", "smtps") or not urlsplit(text).hostname):
        raise ConfigurationError("SMTP_URL: write it as smtp://host:25, smtp+starttls://user:password@host:587 "
                                 "or smtps://user:password@host:465")
    return text


def portal_url(text: str | None) -> str | None:
    """PORTAL_URL: the address people open, the only link a reminder carries."""
    if text and not text.startswith(("https://", "http://")):
        raise ConfigurationError("PORTAL_URL: write the address people open, e.g. https://mfa.example.com/")
    return text


def reminder_email(text: str | None) -> str | None:
    """REMINDER_EMAIL: a pattern naming {username}, or tag:<IAM tag key>."""
    if text and not (text.startswith("tag:") and len(text) > 4) and "{username}" not in text:
        raise ConfigurationError("REMINDER_EMAIL: write a pattern such as {username}@example.com, or tag:email "
                                 "to read each user's IAM tag of that name")
    return text


def roles(text: str | None) -> list:
    """Parse CLI_ROLES; a malformed entry stops start-up naming it."""
    try:
        return parse_roles(text)
    except ValueError as err:
        raise ConfigurationError(f"CLI_ROLES: {err}") from err


def database_url(url: str | None) -> str | None:
    """Normalise DATABASE_URL so SQLAlchemy picks the psycopg 3 driver."""
    if not url:
        return None
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url

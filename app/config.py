"""Read the portal's settings from the environment."""

from __future__ import annotations

import os
from datetime import timedelta


def _bool(name: str, default: bool = False) -> bool:
    """Read a yes/no environment variable."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    """Read an integer environment variable."""
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _list(name: str) -> list[str]:
    """Read a comma-separated environment variable."""
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def from_environment() -> dict:
    """Return the configuration mapping built from environment variables."""
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY"),
        "DEMO_MODE": _bool("MFA_PORTAL_DEMO"),
        # AWS: standard variable names, so any AWS-compatible endpoint works.
        "AWS_REGION": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        "AWS_ENDPOINT_URL": os.environ.get("AWS_ENDPOINT_URL") or None,
        # A call that never answers costs AWS_MAX_ATTEMPTS x AWS_READ_TIMEOUT plus under 1 s of back-off:
        # about 10 s measured (6 s for a connect that hangs), so the "AWS is not answering" page arrives
        # within 15 s even when an earlier call in the same request took a while. Normal IAM and STS
        # answers take well under a second, so 5 s is not cutting real calls short.
        "AWS_CONNECT_TIMEOUT": _int("AWS_CONNECT_TIMEOUT", 3),
        "AWS_READ_TIMEOUT": _int("AWS_READ_TIMEOUT", 5),
        "AWS_MAX_ATTEMPTS": _int("AWS_MAX_ATTEMPTS", 2),
        # The seed policy only allows a device named exactly the user name.
        "MFA_DEVICE_NAME_PATTERN": os.environ.get("MFA_DEVICE_NAME_PATTERN", "{username}"),
        "MFA_ISSUER": os.environ.get("MFA_ISSUER") or None,
        "ADMIN_USERS": _list("ADMIN_USERS"),
        "ADMIN_GROUPS": _list("ADMIN_GROUPS"),
        "FORCE_MFA_POLICY_ARN": os.environ.get("FORCE_MFA_POLICY_ARN") or None,
        "FORCE_MFA_POLICY_NAME": os.environ.get("FORCE_MFA_POLICY_NAME", "ForceMFA"),
        "SQLALCHEMY_DATABASE_URI": _database_url(),
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "AUTO_MIGRATE": _bool("AUTO_MIGRATE", True),
        "IDLE_TIMEOUT": timedelta(minutes=_int("IDLE_TIMEOUT_MINUTES", 15)),
        "ABSOLUTE_TIMEOUT": timedelta(hours=_int("ABSOLUTE_TIMEOUT_HOURS", 8)),
        # Behind a TLS-terminating proxy: how many hops to trust for X-Forwarded-*.
        "PROXY_HOPS": _int("PROXY_HOPS", 0),
        "ALLOW_INSECURE_HTTP": _bool("ALLOW_INSECURE_HTTP"),
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
    }


def _database_url() -> str | None:
    """Normalise DATABASE_URL so SQLAlchemy picks the psycopg 3 driver."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return None
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url

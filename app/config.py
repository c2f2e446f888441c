"""Read the portal's settings from the environment in one place, typed by environs; gunicorn.conf.py uses it too."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from environs import Env, EnvError
from limits import parse_many

from .profiles import parse_roles

ROOT = Path(__file__).resolve().parent.parent


class ConfigurationError(RuntimeError):
    """The portal cannot start safely with this configuration."""


def _read(parse):
    """Run a parser over a fresh view of the environment; a bad value stops start-up naming the variable."""
    # No .env file is read: in a container the environment is the only source, and tests set it directly.
    try:
        return parse(Env())
    except EnvError as err:
        raise ConfigurationError(str(err)) from err


def _names(env: Env, name: str) -> list[str]:
    """A comma-separated list, blanks and stray spaces dropped ("alice, bob,," is two names)."""
    return [item.strip() for item in env.list(name, []) if item.strip()]


def _text(env: Env, name: str, default: str | None = None) -> str | None:
    """A string where an empty value means the default, as it always has here."""
    return env.str(name, "") or default


def _number(env: Env, name: str, default: int) -> int:
    """An integer where an empty value means the default (compose files often pass VAR= through)."""
    return env.int(name, default) if _text(env, name) else default


def _seconds(env: Env, name: str, default: float) -> float:
    """A duration in seconds, fractions allowed; empty means the default."""
    return env.float(name, default) if _text(env, name) else default


def _flag(env: Env, name: str, default: bool) -> bool:
    """A yes/no value (1/0, true/false, yes/no, on/off); empty means the default, anything else is an error."""
    return env.bool(name, default) if _text(env, name) else default


def _choice(env: Env, name: str, choices: tuple[str, ...], default: str) -> str:
    """One of a few words, any case; empty means the default, anything else stops start-up naming the variable."""
    value = (_text(env, name, default) or default).strip().lower()
    if value not in choices:
        raise ConfigurationError(f"{name}: {value!r} is not one of {', '.join(choices)}")
    return value


def _rate(env: Env, name: str, default: str) -> str:
    """A rate-limit rule in the `limits` syntax; one that does not parse stops start-up naming the variable."""
    value = _text(env, name, default)
    try:
        parse_many(value)
    except ValueError as err:
        raise ConfigurationError(f"{name}: {err}; write it like '5 per minute;20 per hour'") from err
    return value


def from_environment() -> dict:
    """Return the Flask configuration mapping built from environment variables."""
    return _read(_portal)


def _portal(env: Env) -> dict:
    """The Flask settings, with the defaults the README documents."""
    return {
        "SECRET_KEY": _text(env, "SECRET_KEY"),
        "DEMO_MODE": _flag(env, "MFA_PORTAL_DEMO", False),
        "INSTANCE_PATH": _text(env, "INSTANCE_PATH", str(ROOT / "instance")),
        # AWS: standard variable names, so any AWS-compatible endpoint works.
        "AWS_REGION": _text(env, "AWS_REGION") or _text(env, "AWS_DEFAULT_REGION", "us-east-1"),
        "AWS_ENDPOINT_URL": _text(env, "AWS_ENDPOINT_URL"),
        # A call that never answers costs AWS_MAX_ATTEMPTS x AWS_READ_TIMEOUT plus under 1 s of back-off:
        # about 10 s measured (6 s for a connect that hangs), so the "AWS is not answering" page arrives
        # within 15 s even when an earlier call in the same request took a while. Normal IAM and STS
        # answers take well under a second, so 5 s is not cutting real calls short.
        "AWS_CONNECT_TIMEOUT": _number(env, "AWS_CONNECT_TIMEOUT", 3),
        "AWS_READ_TIMEOUT": _number(env, "AWS_READ_TIMEOUT", 5),
        "AWS_MAX_ATTEMPTS": _number(env, "AWS_MAX_ATTEMPTS", 2),
        # The seed policy only allows a device named exactly the user name.
        "MFA_DEVICE_NAME_PATTERN": _text(env, "MFA_DEVICE_NAME_PATTERN", "{username}"),
        # Backup devices need a policy scoped to mfa/* (AWS's newer example); off until named, e.g. {username}-{label}.
        "MFA_BACKUP_NAME_PATTERN": _text(env, "MFA_BACKUP_NAME_PATTERN", ""),
        "MFA_ISSUER": _text(env, "MFA_ISSUER"),
        "ADMIN_USERS": _names(env, "ADMIN_USERS"),
        "ADMIN_GROUPS": _names(env, "ADMIN_GROUPS"),
        "FORCE_MFA_POLICY_ARN": _text(env, "FORCE_MFA_POLICY_ARN"),
        "FORCE_MFA_POLICY_NAME": _text(env, "FORCE_MFA_POLICY_NAME", "ForceMFA"),
        # Security Hub's own thresholds by default (IAM.22, IAM.8; IAM.3's FINDINGS_KEY_AGE_DAYS is below).
        "FINDINGS_UNUSED_DAYS": _number(env, "FINDINGS_UNUSED_DAYS", 45),
        "FINDINGS_STALE_DAYS": _number(env, "FINDINGS_STALE_DAYS", 90),
        "SQLALCHEMY_DATABASE_URI": _database_url(_text(env, "DATABASE_URL")),
        "REDIS_URL": _text(env, "REDIS_URL"),
        # An unreachable dependency must cost a request seconds, not minutes: the portal's 503 page
        # then arrives within about 3 s (see app/backends.py for where each one applies).
        "DATABASE_CONNECT_TIMEOUT": _number(env, "DATABASE_CONNECT_TIMEOUT", 2),
        "DATABASE_POOL_TIMEOUT": _seconds(env, "DATABASE_POOL_TIMEOUT", 2),
        "DATABASE_STATEMENT_TIMEOUT": _seconds(env, "DATABASE_STATEMENT_TIMEOUT", 5),
        "REDIS_CONNECT_TIMEOUT": _seconds(env, "REDIS_CONNECT_TIMEOUT", 1),
        "REDIS_TIMEOUT": _seconds(env, "REDIS_TIMEOUT", 1),
        "AUTO_MIGRATE": _flag(env, "AUTO_MIGRATE", True),
        "IDLE_TIMEOUT": timedelta(minutes=_number(env, "IDLE_TIMEOUT_MINUTES", 15)),
        "ABSOLUTE_TIMEOUT": timedelta(hours=_number(env, "ABSOLUTE_TIMEOUT_HOURS", 8)),
        # Behind a TLS-terminating proxy: how many hops to trust for X-Forwarded-*.
        "PROXY_HOPS": _number(env, "PROXY_HOPS", 0),
        # The names people reach the portal by; any other Host (or forwarded host) gets a 400. Unset: any
        # host, for the demo and loopback development. A leading dot also accepts subdomains.
        "PORTAL_HOSTS": _names(env, "PORTAL_HOSTS"),
        "ALLOW_INSECURE_HTTP": _flag(env, "ALLOW_INSECURE_HTTP", False),
        # Failed sign-ins allowed. Per access key ID: someone guessing one person's secret. Per source
        # address, looser: one office NAT holds many people, some of whom mistype.
        "SIGN_IN_LIMIT_PER_KEY": _rate(env, "SIGN_IN_LIMIT_PER_KEY", "5 per minute;20 per hour"),
        "SIGN_IN_LIMIT_PER_ADDRESS": _rate(env, "SIGN_IN_LIMIT_PER_ADDRESS", "60 per minute;300 per hour"),
        "LOG_LEVEL": _text(env, "LOG_LEVEL", "INFO"),
        # json: every line one JSON object, for a log pipeline (app/logs.py); text: for people.
        "LOG_FORMAT": _choice(env, "LOG_FORMAT", ("text", "json"), "text"),
        # `flask audit purge` refuses to remove anything younger: auditors commonly ask for a year.
        "AUDIT_RETENTION_MIN_DAYS": _number(env, "AUDIT_RETENTION_MIN_DAYS", 365),
        # Refresh snapshots older than this go after each refresh and with `flask snapshots purge`
        # (a year and a month: last year's same month stays comparable).
        "SNAPSHOT_RETENTION_DAYS": _number(env, "SNAPSHOT_RETENTION_DAYS", 400),
        # Prometheus metrics at /metrics (app/metrics.py): off unless asked for. Without a token only a
        # scraper on this machine may read them; with one, any bearer of it (behind a proxy, set one).
        "METRICS": _flag(env, "METRICS", False),
        "METRICS_TOKEN": _text(env, "METRICS_TOKEN", ""),
        # Security Hub IAM.3: an active access key older than this many days (strictly more) is a finding.
        "FINDINGS_KEY_AGE_DAYS": _number(env, "FINDINGS_KEY_AGE_DAYS", 90),
        # Ask everyone for a console password on their home page: off, as a password is one more credential
        # to leak and, unused, itself a finding (IAM.22); companies whose people use the console turn it on.
        "TODO_CONSOLE_PASSWORD": _flag(env, "TODO_CONSOLE_PASSWORD", False),
        # Roles offered as AWS CLI profiles and console switch-role links (README: CLI profiles).
        "CLI_ROLES": _roles(_text(env, "CLI_ROLES")),
        # Events to other systems (README: Events and reminders): signed webhooks, delivered by the queue.
        "WEBHOOK_URLS": _webhook_urls(env.str("WEBHOOK_URLS", "")),
        "WEBHOOK_SECRET": _webhook_secret(_text(env, "WEBHOOK_SECRET")),
        # One queue consumer per machine, started by gunicorn's master; 0 where it runs as its own service.
        "QUEUE_CONSUMER": _flag(env, "QUEUE_CONSUMER", True),
        "QUEUE_WORKERS": _number(env, "QUEUE_WORKERS", 2),
        # Reminder e-mails.
        "SMTP_URL": _smtp_url(_text(env, "SMTP_URL")),
        "MAIL_FROM": _text(env, "MAIL_FROM"),
        "PORTAL_URL": _portal_url(_text(env, "PORTAL_URL")),
        "REMINDER_EMAIL": _reminder_email(_text(env, "REMINDER_EMAIL")),
        "REMINDER_INTERVAL_DAYS": _number(env, "REMINDER_INTERVAL_DAYS", 7),
        "REMINDER_LANGUAGE": _choice(env, "REMINDER_LANGUAGE", ("both", "en", "ja"), "both"),
    }


_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _webhook_urls(text: str) -> list[str]:
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


def _webhook_secret(text: str | None) -> str | None:
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


def _smtp_url(text: str | None) -> str | None:
    """SMTP_URL: smtp://, smtp+starttls:// or smtps://, with an optional user:password@."""
    if text and (urlsplit(text).scheme not in ("smtp", "smtp+starttls", "smtps") or not urlsplit(text).hostname):
        raise ConfigurationError("SMTP_URL: write it as smtp://host:25, smtp+starttls://user:password@host:587 "
                                 "or smtps://user:password@host:465")
    return text


def _portal_url(text: str | None) -> str | None:
    """PORTAL_URL: the address people open, the only link a reminder carries."""
    if text and not text.startswith(("https://", "http://")):
        raise ConfigurationError("PORTAL_URL: write the address people open, e.g. https://mfa.example.com/")
    return text


def _reminder_email(text: str | None) -> str | None:
    """REMINDER_EMAIL: a pattern naming {username}, or tag:<IAM tag key>."""
    if text and not (text.startswith("tag:") and len(text) > 4) and "{username}" not in text:
        raise ConfigurationError("REMINDER_EMAIL: write a pattern such as {username}@example.com, or tag:email "
                                 "to read each user's IAM tag of that name")
    return text


def _roles(text: str | None) -> list:
    """Parse CLI_ROLES; a malformed entry stops start-up naming it."""
    try:
        return parse_roles(text)
    except ValueError as err:
        raise ConfigurationError(f"CLI_ROLES: {err}") from err


def _database_url(url: str | None) -> str | None:
    """Normalise DATABASE_URL so SQLAlchemy picks the psycopg 3 driver."""
    if not url:
        return None
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def portal_hosts() -> list[str]:
    """Return PORTAL_HOSTS alone, for probes that must name a trusted host (docker/healthcheck.py)."""
    return _read(lambda env: _names(env, "PORTAL_HOSTS"))


@dataclass(frozen=True)
class ServerSettings:
    """What gunicorn.conf.py needs, parsed by the same rules as the portal's own settings."""

    bind: str
    port: int
    workers: int
    threads: int
    timeout: int
    keepalive: int
    max_requests: int
    max_requests_jitter: int
    forwarded_allow_ips: str
    control_socket: str
    accesslog: str | None
    errorlog: str
    loglevel: str
    log_format: str
    app_log_level: str
    demo: bool
    auto_migrate: bool
    has_secret_key: bool
    metrics: bool
    instance_path: str
    queue_consumer: bool


def server_settings() -> ServerSettings:
    """Return gunicorn's settings from the environment."""
    return _read(_server)


def _server(env: Env) -> ServerSettings:
    """gunicorn's settings, with the defaults the README documents."""
    # Loopback unless told otherwise: the portal belongs behind a TLS-terminating proxy.
    # (gunicorn's own default binds 0.0.0.0 as soon as PORT is set; the Dockerfile sets HOST instead.)
    port = _number(env, "PORT", 8000)
    return ServerSettings(
        bind=_text(env, "BIND") or f"{_text(env, 'HOST', '127.0.0.1')}:{port}",
        port=port,
        # Two processes for two cores; threads because most of a request is spent waiting for AWS.
        workers=_number(env, "WEB_CONCURRENCY", 2),
        threads=_number(env, "GUNICORN_THREADS", 8),
        # Above the worst AWS call (3 s connect + 5 s read, two attempts: about 16 s), so it is never cut short.
        timeout=_number(env, "GUNICORN_TIMEOUT", 30),
        keepalive=_number(env, "GUNICORN_KEEPALIVE", 5),
        # Recycling workers after N requests guards against slow leaks; 0 (never) until one is seen.
        max_requests=_number(env, "GUNICORN_MAX_REQUESTS", 0),
        max_requests_jitter=_number(env, "GUNICORN_MAX_REQUESTS_JITTER", 0),
        # Proxy trust lives in the app (PROXY_HOPS); gunicorn trusts X-Forwarded-Proto only from these.
        forwarded_allow_ips=env.str("FORWARDED_ALLOW_IPS", ""),
        control_socket=env.str("GUNICORN_CONTROL_SOCKET", ""),
        accesslog=env.str("GUNICORN_ACCESS_LOG", "-") or None,  # empty turns the access log off
        errorlog=env.str("GUNICORN_ERROR_LOG", "-"),
        loglevel=env.str("GUNICORN_LOG_LEVEL", "info"),
        log_format=_choice(env, "LOG_FORMAT", ("text", "json"), "text"),
        app_log_level=_text(env, "LOG_LEVEL", "INFO"),
        demo=_flag(env, "MFA_PORTAL_DEMO", False),
        auto_migrate=_flag(env, "AUTO_MIGRATE", True),
        has_secret_key=bool(_text(env, "SECRET_KEY")),
        metrics=_flag(env, "METRICS", False),
        instance_path=_text(env, "INSTANCE_PATH", str(ROOT / "instance")),
        queue_consumer=_flag(env, "QUEUE_CONSUMER", True),
    )

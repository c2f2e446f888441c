"""Read the portal's settings from the environment in one place, typed by environs; gunicorn.conf.py uses it too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from environs import Env, EnvError

from .settings_parsers import (
    ConfigurationError,
    choice,
    database_url,
    flag,
    names,
    number,
    portal_url,
    rate,
    reminder_email,
    roles,
    seconds,
    smtp_url,
    text,
    webhook_secret,
    webhook_urls,
)

ROOT = Path(__file__).resolve().parent.parent


def _read(parse):
    """Run a parser over a fresh view of the environment; a bad value stops start-up naming the variable."""
    # No .env file is read: in a container the environment is the only source, and tests set it directly.
    try:
        return parse(Env())
    except EnvError as err:
        raise ConfigurationError(str(err)) from err


def from_environment() -> dict:
    """Return the Flask configuration mapping built from environment variables."""
    return _read(_portal)


def _portal(env: Env) -> dict:
    """The Flask settings, with the defaults the README documents."""
    return {
        "SECRET_KEY": text(env, "SECRET_KEY"),
        "DEMO_MODE": flag(env, "MFA_PORTAL_DEMO", False),
        "INSTANCE_PATH": text(env, "INSTANCE_PATH", str(ROOT / "instance")),
        # AWS: standard variable names, so any AWS-compatible endpoint works.
        "AWS_REGION": text(env, "AWS_REGION") or text(env, "AWS_DEFAULT_REGION", "us-east-1"),
        "AWS_ENDPOINT_URL": text(env, "AWS_ENDPOINT_URL"),
        # A call that never answers costs AWS_MAX_ATTEMPTS x AWS_READ_TIMEOUT plus under 1 s of back-off:
        # about 10 s measured (6 s for a connect that hangs), so the "AWS is not answering" page arrives
        # within 15 s even when an earlier call in the same request took a while. Normal IAM and STS
        # answers take well under a second, so 5 s is not cutting real calls short.
        "AWS_CONNECT_TIMEOUT": number(env, "AWS_CONNECT_TIMEOUT", 3),
        "AWS_READ_TIMEOUT": number(env, "AWS_READ_TIMEOUT", 5),
        "AWS_MAX_ATTEMPTS": number(env, "AWS_MAX_ATTEMPTS", 2),
        # The seed policy only allows a device named exactly the user name.
        "MFA_DEVICE_NAME_PATTERN": text(env, "MFA_DEVICE_NAME_PATTERN", "{username}"),
        # Backup devices need a policy scoped to mfa/* (AWS's newer example); off until named, e.g. {username}-{label}.
        "MFA_BACKUP_NAME_PATTERN": text(env, "MFA_BACKUP_NAME_PATTERN", ""),
        "MFA_ISSUER": text(env, "MFA_ISSUER"),
        "ADMIN_USERS": names(env, "ADMIN_USERS"),
        "ADMIN_GROUPS": names(env, "ADMIN_GROUPS"),
        "FORCE_MFA_POLICY_ARN": text(env, "FORCE_MFA_POLICY_ARN"),
        "FORCE_MFA_POLICY_NAME": text(env, "FORCE_MFA_POLICY_NAME", "ForceMFA"),
        # Security Hub's own thresholds by default (IAM.22, IAM.8; IAM.3's FINDINGS_KEY_AGE_DAYS is below).
        "FINDINGS_UNUSED_DAYS": number(env, "FINDINGS_UNUSED_DAYS", 45),
        "FINDINGS_STALE_DAYS": number(env, "FINDINGS_STALE_DAYS", 90),
        "SQLALCHEMY_DATABASE_URI": database_url(text(env, "DATABASE_URL")),
        "REDIS_URL": text(env, "REDIS_URL"),
        # An unreachable dependency must cost a request seconds, not minutes: the portal's 503 page
        # then arrives within about 3 s (see app/backends.py for where each one applies).
        "DATABASE_CONNECT_TIMEOUT": number(env, "DATABASE_CONNECT_TIMEOUT", 2),
        "DATABASE_POOL_TIMEOUT": seconds(env, "DATABASE_POOL_TIMEOUT", 2),
        "DATABASE_STATEMENT_TIMEOUT": seconds(env, "DATABASE_STATEMENT_TIMEOUT", 5),
        "REDIS_CONNECT_TIMEOUT": seconds(env, "REDIS_CONNECT_TIMEOUT", 1),
        "REDIS_TIMEOUT": seconds(env, "REDIS_TIMEOUT", 1),
        "AUTO_MIGRATE": flag(env, "AUTO_MIGRATE", True),
        "IDLE_TIMEOUT": timedelta(minutes=number(env, "IDLE_TIMEOUT_MINUTES", 15)),
        "ABSOLUTE_TIMEOUT": timedelta(hours=number(env, "ABSOLUTE_TIMEOUT_HOURS", 8)),
        # Behind a TLS-terminating proxy: how many hops to trust for X-Forwarded-*.
        "PROXY_HOPS": number(env, "PROXY_HOPS", 0),
        # The names people reach the portal by; any other Host (or forwarded host) gets a 400. Unset: any
        # host, for the demo and loopback development. A leading dot also accepts subdomains.
        "PORTAL_HOSTS": names(env, "PORTAL_HOSTS"),
        "ALLOW_INSECURE_HTTP": flag(env, "ALLOW_INSECURE_HTTP", False),
        # Failed sign-ins allowed. Per access key ID: someone guessing one person's secret. Per source
        # address, looser: one office NAT holds many people, some of whom mistype.
        "SIGN_IN_LIMIT_PER_KEY": rate(env, "SIGN_IN_LIMIT_PER_KEY", "5 per minute;20 per hour"),
        "SIGN_IN_LIMIT_PER_ADDRESS": rate(env, "SIGN_IN_LIMIT_PER_ADDRESS", "60 per minute;300 per hour"),
        "LOG_LEVEL": text(env, "LOG_LEVEL", "INFO"),
        # json: every line one JSON object, for a log pipeline (app/logs.py); text: for people.
        "LOG_FORMAT": choice(env, "LOG_FORMAT", ("text", "json"), "text"),
        # `flask audit purge` refuses to remove anything younger: auditors commonly ask for a year.
        "AUDIT_RETENTION_MIN_DAYS": number(env, "AUDIT_RETENTION_MIN_DAYS", 365),
        # Refresh snapshots older than this go after each refresh and with `flask snapshots purge`
        # (a year and a month: last year's same month stays comparable).
        "SNAPSHOT_RETENTION_DAYS": number(env, "SNAPSHOT_RETENTION_DAYS", 400),
        # Prometheus metrics at /metrics (app/metrics.py): off unless asked for. Without a token only a
        # scraper on this machine may read them; with one, any bearer of it (behind a proxy, set one).
        "METRICS": flag(env, "METRICS", False),
        "METRICS_TOKEN": text(env, "METRICS_TOKEN", ""),
        # Security Hub IAM.3: an active access key older than this many days (strictly more) is a finding.
        "FINDINGS_KEY_AGE_DAYS": number(env, "FINDINGS_KEY_AGE_DAYS", 90),
        # Ask everyone for a console password on their home page: off, as a password is one more credential
        # to leak and, unused, itself a finding (IAM.22); companies whose people use the console turn it on.
        "TODO_CONSOLE_PASSWORD": flag(env, "TODO_CONSOLE_PASSWORD", False),
        # Roles offered as AWS CLI profiles and console switch-role links (README: CLI profiles).
        "CLI_ROLES": roles(text(env, "CLI_ROLES")),
        # Events to other systems (README: Events and reminders): signed webhooks, delivered by the queue.
        "WEBHOOK_URLS": webhook_urls(env.str("WEBHOOK_URLS", "")),
        "WEBHOOK_SECRET": webhook_secret(text(env, "WEBHOOK_SECRET")),
        # One queue consumer per machine, started by gunicorn's master; 0 where it runs as its own service.
        "QUEUE_CONSUMER": flag(env, "QUEUE_CONSUMER", True),
        "QUEUE_WORKERS": number(env, "QUEUE_WORKERS", 2),
        # Reminder e-mails.
        "SMTP_URL": smtp_url(text(env, "SMTP_URL")),
        "MAIL_FROM": text(env, "MAIL_FROM"),
        "PORTAL_URL": portal_url(text(env, "PORTAL_URL")),
        "REMINDER_EMAIL": reminder_email(text(env, "REMINDER_EMAIL")),
        "REMINDER_INTERVAL_DAYS": number(env, "REMINDER_INTERVAL_DAYS", 7),
        "REMINDER_LANGUAGE": choice(env, "REMINDER_LANGUAGE", ("both", "en", "ja"), "both"),
    }


def portal_hosts() -> list[str]:
    """Return PORTAL_HOSTS alone, for probes that must name a trusted host (docker/healthcheck.py)."""
    return _read(lambda env: names(env, "PORTAL_HOSTS"))


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
    port = number(env, "PORT", 8000)
    return ServerSettings(
        bind=text(env, "BIND") or f"{text(env, 'HOST', '127.0.0.1')}:{port}",
        port=port,
        # Two processes for two cores; threads because most of a request is spent waiting for AWS.
        workers=number(env, "WEB_CONCURRENCY", 2),
        threads=number(env, "GUNICORN_THREADS", 8),
        # Above the worst AWS call (3 s connect + 5 s read, two attempts: about 16 s), so it is never cut short.
        timeout=number(env, "GUNICORN_TIMEOUT", 30),
        keepalive=number(env, "GUNICORN_KEEPALIVE", 5),
        # Recycling workers after N requests guards against slow leaks; 0 (never) until one is seen.
        max_requests=number(env, "GUNICORN_MAX_REQUESTS", 0),
        max_requests_jitter=number(env, "GUNICORN_MAX_REQUESTS_JITTER", 0),
        # Proxy trust lives in the app (PROXY_HOPS); gunicorn trusts X-Forwarded-Proto only from these.
        forwarded_allow_ips=env.str("FORWARDED_ALLOW_IPS", ""),
        control_socket=env.str("GUNICORN_CONTROL_SOCKET", ""),
        accesslog=env.str("GUNICORN_ACCESS_LOG", "-") or None,  # empty turns the access log off
        errorlog=env.str("GUNICORN_ERROR_LOG", "-"),
        loglevel=env.str("GUNICORN_LOG_LEVEL", "info"),
        log_format=choice(env, "LOG_FORMAT", ("text", "json"), "text"),
        app_log_level=text(env, "LOG_LEVEL", "INFO"),
        demo=flag(env, "MFA_PORTAL_DEMO", False),
        auto_migrate=flag(env, "AUTO_MIGRATE", True),
        has_secret_key=bool(text(env, "SECRET_KEY")),
        metrics=flag(env, "METRICS", False),
        instance_path=text(env, "INSTANCE_PATH", str(ROOT / "instance")),
        queue_consumer=flag(env, "QUEUE_CONSUMER", True),
    )

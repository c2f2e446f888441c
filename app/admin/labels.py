"""Audit actions and outcomes in words, for the admin pages; exports keep the stored identifiers."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_pgettext

from ..i18n import duration
from ..services.audit import Action, Outcome
from . import bp

# One entry per Action and Outcome (a test checks none is missing); context "audit" keeps these words
# apart from the same English words elsewhere in the catalog.
ACTIONS = {
    Action.SIGN_IN: lazy_pgettext("audit", "Signed in"),
    Action.SIGN_OUT: lazy_pgettext("audit", "Signed out"),
    Action.DEVICE_CREATED: lazy_pgettext("audit", "MFA device created"),
    Action.STALE_DEVICE_REPLACED: lazy_pgettext("audit", "Abandoned device replaced"),
    Action.DEVICE_ENABLED: lazy_pgettext("audit", "MFA device enabled"),
    Action.DEVICE_RESYNCED: lazy_pgettext("audit", "MFA device resynced"),
    Action.DEVICE_REMOVED: lazy_pgettext("audit", "MFA device removed"),
    Action.DEVICE_REPLACED: lazy_pgettext("audit", "MFA device replaced"),
    Action.CREDENTIALS_ISSUED: lazy_pgettext("audit", "Session credentials issued"),
    Action.ENROLLMENT_COMPLETED: lazy_pgettext("audit", "Enrollment completed"),
    Action.ADMIN_REFRESH: lazy_pgettext("audit", "Dashboard refreshed"),
    Action.ADMIN_EXPORT: lazy_pgettext("audit", "Enrollment exported"),
    Action.ADMIN_AUDIT_EXPORT: lazy_pgettext("audit", "Audit log exported"),
    Action.ADMIN_RESET: lazy_pgettext("audit", "Device reset by an admin"),
    Action.ADMIN_KEY_DEACTIVATED: lazy_pgettext("audit", "Access key deactivated by an admin"),
    Action.RATE_LIMITED: lazy_pgettext("audit", "Held back by a rate limit"),
    Action.ACCESS_KEY_CREATED: lazy_pgettext("audit", "Access key created"),
    Action.ACCESS_KEY_STATUS: lazy_pgettext("audit", "Access key status changed"),
    Action.ACCESS_KEY_DELETED: lazy_pgettext("audit", "Access key deleted"),
    Action.ACCESS_KEY_SECRET_LOST: lazy_pgettext("audit", "Access key made, its secret lost"),
    Action.PORTAL_KEY_SWITCHED: lazy_pgettext("audit", "Portal switched to the new key"),
    Action.CONSOLE_PASSWORD_SET: lazy_pgettext("audit", "Console password set"),
    Action.CONSOLE_PASSWORD_CHANGED: lazy_pgettext("audit", "Console password changed"),
    Action.CONSOLE_PASSWORD_REMOVED: lazy_pgettext("audit", "Console password removed"),
    Action.SSH_KEY_UPLOADED: lazy_pgettext("audit", "SSH key uploaded"),
    Action.SSH_KEY_STATUS: lazy_pgettext("audit", "SSH key status changed"),
    Action.SSH_KEY_DELETED: lazy_pgettext("audit", "SSH key deleted"),
    Action.SIGNING_CERT_UPLOADED: lazy_pgettext("audit", "Signing certificate uploaded"),
    Action.SIGNING_CERT_STATUS: lazy_pgettext("audit", "Signing certificate status changed"),
    Action.SIGNING_CERT_DELETED: lazy_pgettext("audit", "Signing certificate deleted"),
    Action.HARDWARE_TOKEN_ENABLED: lazy_pgettext("audit", "Hardware token enabled"),
    Action.BACKUP_DEVICE_CREATED: lazy_pgettext("audit", "Backup device created"),
    Action.AUDIT_PURGE: lazy_pgettext("audit", "Old audit records purged"),
    Action.SIGN_IN_BURST: lazy_pgettext("audit", "Burst of failed sign-ins"),
    Action.REMINDERS_SENT: lazy_pgettext("audit", "Reminders queued by an admin"),
    Action.REMINDER_SENT: lazy_pgettext("audit", "Reminder e-mail sent"),
    Action.WEBHOOK_FAILED: lazy_pgettext("audit", "Event not delivered to a webhook"),
}
OUTCOMES = {
    Outcome.ATTEMPT: lazy_pgettext("audit", "attempt"),
    Outcome.SUCCESS: lazy_pgettext("audit", "success"),
    Outcome.FAILURE: lazy_pgettext("audit", "failure"),
    Outcome.REFUSED: lazy_pgettext("audit", "refused"),
    Outcome.DENIED: lazy_pgettext("audit", "denied by IAM"),
    Outcome.UNKNOWN: lazy_pgettext("audit", "unknown (answer lost)"),
}


def _words(table: dict, kind: type, value: str) -> str:
    """The words for a stored identifier in the page's language; one from an older version as it is."""
    try:
        return str(table[kind(value)])
    except (ValueError, KeyError):
        return value


@bp.app_template_filter("audit_action")
def action_label(value: str) -> str:
    """An audit action in the page's language."""
    return _words(ACTIONS, Action, value)


@bp.app_template_filter("audit_outcome")
def outcome_label(value: str) -> str:
    """An audit outcome in the page's language."""
    return _words(OUTCOMES, Outcome, value)


# Detail keys and the values people read (reasons, errors) in words; anything else is shown as stored.
DETAIL_KEYS = {
    "duration": lazy_pgettext("audit detail", "valid for"),
    "device": lazy_pgettext("audit detail", "device"),
    "reason": lazy_pgettext("audit detail", "reason"),
    "error": lazy_pgettext("audit detail", "error"),
    "filter": lazy_pgettext("audit detail", "filter"),
    "rows": lazy_pgettext("audit detail", "rows"),
    "calls": lazy_pgettext("audit detail", "AWS calls"),
    "via": lazy_pgettext("audit detail", "via"),
    "admin": lazy_pgettext("audit detail", "admin"),
    "key_id": lazy_pgettext("audit detail", "access key"),
    "old_key_id": lazy_pgettext("audit detail", "old access key"),
    "ssh_key_id": lazy_pgettext("audit detail", "SSH key"),
    "cert_id": lazy_pgettext("audit detail", "certificate"),
    "status": lazy_pgettext("audit detail", "status"),
    "budget": lazy_pgettext("audit detail", "rate limit"),
}
DETAIL_VALUES = {
    "KeysRejected": lazy_pgettext("audit detail", "AWS did not accept the keys"),
    "KeysRefused": lazy_pgettext("audit detail", "keys of a kind the portal does not take"),
    "InvalidInput": lazy_pgettext("audit detail", "malformed input, not sent to AWS"),
    "code rejected": lazy_pgettext("audit detail", "code not accepted by AWS"),
    "plain http": lazy_pgettext("audit detail", "over plain HTTP"),
    "found enabled on retry": lazy_pgettext("audit detail", "found enabled when retried"),
    "AwsUnavailable": lazy_pgettext("audit detail", "AWS did not answer"),
    "AwsAccessDenied": lazy_pgettext("audit detail", "denied by IAM"),
    "Active": lazy_pgettext("audit detail", "active"),
    "Inactive": lazy_pgettext("audit detail", "inactive"),
}


@bp.app_template_global("audit_detail")
def detail_label(key: str, value) -> str:
    """One audit detail as a person reads it: "reason: AWS did not accept the keys", a filter without braces."""
    name = str(DETAIL_KEYS.get(key, key))
    if isinstance(value, dict):  # an export's filter: its set values, as "order asc, show all"
        shown = ", ".join(f"{k} {v}" for k, v in value.items() if v not in (None, "", [], False))
        return f"{name}: {shown or '—'}"
    if key == "duration" and isinstance(value, int):
        return f"{name}: {duration(timedelta(seconds=value))}"
    words = DETAIL_VALUES.get(value) if isinstance(value, str) else None
    return f"{name}: {words if words is not None else value}"

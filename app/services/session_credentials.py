"""Session credentials: sts:GetSessionToken with a code from the person's device (which also proves an enrollment)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from .. import aws
from ..clock import aware
from ..domain import CredentialsChoice, SessionCredentials
from ..errors import AwsError, CodeRejected, InvalidInput
from ..sessions import PortalSession
from . import admins, audit, codes
from .audit import Action

MIN_DURATION = 900  # AWS minimum; anything lower gives a confusing error
MAX_DURATION = 129_600  # 36 hours, the IAM-user maximum
DEFAULT_DURATION = 43_200
DURATION_CHOICES = [
    (900, "15 minutes"), (3600, "1 hour"), (14_400, "4 hours"), (28_800, "8 hours"),
    (43_200, "12 hours"), (86_400, "24 hours"), (129_600, "36 hours"),
]


def check_duration(value: Any) -> int:
    """Validate a duration in seconds before calling AWS."""
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(_("Choose how long the credentials should last.")) from None
    if not MIN_DURATION <= seconds <= MAX_DURATION:
        raise InvalidInput(_("Session credentials last between 15 minutes and 36 hours."),
                           _("Pick one of the offered durations."))
    return seconds


def get_session_token(sts: Any, serial: str, code: str, duration: int) -> SessionCredentials:
    """Exchange a code for MFA session credentials; the serial comes from AWS, never from a form."""
    try:
        answer = aws.call(sts, "GetSessionToken", SerialNumber=serial, TokenCode=code,
                          DurationSeconds=check_duration(duration))
    except AwsError as err:
        raise CodeRejected(
            _("AWS did not accept this code for your MFA device."),
            _("Type the code your app shows right now for this account. If codes keep failing although "
              "the app's clock is right, resync your device."),
        ) if err.code in {"AccessDenied", "InvalidAuthenticationCode"} else err from None
    creds = answer["Credentials"]
    expiration = aware(creds["Expiration"])
    return SessionCredentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"], expiration)


def issue(state: PortalSession, actor: audit.Actor, serial: str, code: str, duration: int, profile: str,
          admin_users: list[str], admin_groups: list[str]) -> bool:
    """Exchange a code for MFA session credentials; return whether this completed an enrollment."""
    creds = codes.submit(state, actor, Action.CREDENTIALS_ISSUED, serial, (code,),
                         lambda: get_session_token(state.client("sts"), serial, code, duration), duration=duration)
    state.keep_credentials(creds, CredentialsChoice(profile, duration, serial))
    completed = False
    # The audit log, not this session, knows whether the proof is still owed: a person may sign out
    # between enabling the device and typing the proving code. The session flag only shapes the page.
    if audit.enrollment_unproven(actor.user_name, fallback=state.enrolling is not None):
        state.set_enrolling(None)
        audit.record(Action.ENROLLMENT_COMPLETED, actor, device=serial)
        completed = True
    if admin_users or admin_groups:
        state.set_admin_by_group(admins.is_admin(state.mfa_client("iam"), actor.user_name, admin_users,
                                                 admin_groups))
    return completed


def confirm(state: PortalSession, actor: audit.Actor, serial: str, code: str, admin_users: list[str],
            admin_groups: list[str]) -> bool:
    """Check one code with AWS for a step-up, renewing the session credentials as the person last asked for them."""
    choice = state.credentials_choice
    return issue(state, actor, serial, code, choice.duration or DEFAULT_DURATION, choice.profile,
                 admin_users, admin_groups)

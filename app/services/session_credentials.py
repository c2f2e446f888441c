"""Session credentials: sts:GetSessionToken with a code from the user's own device."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from .. import aws
from ..clock import aware
from ..domain import SessionCredentials
from ..errors import AwsError, CodeRejected, InvalidInput

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

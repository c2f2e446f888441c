"""Who signed a request to the emulator (a long-term key, or a session key from GetSessionToken), and STS's errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import xmltodict
from moto.iam.models import IAMBackend, User, iam_backends
from werkzeug.exceptions import HTTPException

_STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"


@dataclass(frozen=True)
class Session:
    """Who a session access key issued by GetSessionToken belongs to, and until when."""

    account_id: str
    partition: str
    user_name: str
    user_id: str
    expiration: datetime
    mfa: bool = False  # issued against an MFA code: requests signed with it carry aws:MultiFactorAuthPresent


# Session access key id -> owner. It outlives moto resets, so lookups re-check the user.
sessions: dict[str, Session] = {}


class StsError(HTTPException):
    """An STS error with its real HTTP status (moto would send 400 for codes STS does not model)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        """Build the XML body botocore parses into ClientError."""
        super().__init__()
        self.code = status
        self.description = xmltodict.unparse(
            {
                "ErrorResponse": {
                    "@xmlns": _STS_NAMESPACE,
                    "Error": {"Type": "Sender", "Code": code, "Message": message},
                    # moto's response enricher fills in a request id here.
                    "RequestId": "",
                }
            }
        )

    def get_headers(self, *args: object, **kwargs: object) -> list[tuple[str, str]]:
        """Send the body as XML like AWS does."""
        return [("Content-Type", "text/xml")]


def invalid_token() -> StsError:
    """Return the error AWS gives for an access key it does not know."""
    return StsError(
        403,
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
    )


def user_for_key(iam: IAMBackend, access_key_id: str) -> User | None:
    """Return the IAM user owning an active long-term access key, if any."""
    key = iam.access_keys.get(access_key_id)
    if key is None or key.status != "Active" or key.user_name is None:
        return None
    user = iam.users.get(key.user_name)
    # moto keeps keys of deleted users in the account-wide map.
    if user is None or key not in user.access_keys:
        return None
    return user


def session_user(session: Session) -> User | None:
    """Return the user a session key was issued to, if that very user still exists."""
    user = iam_backends[session.account_id][session.partition].users.get(session.user_name)
    if user is None or user.id != session.user_id:
        return None
    return user


def caller(iam: IAMBackend, access_key_id: str) -> User | None:
    """Return the IAM user whose long-term or session key this is, if that user still exists."""
    session = sessions.get(access_key_id)
    return session_user(session) if session else user_for_key(iam, access_key_id)

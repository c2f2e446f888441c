"""Sign-in: check the key pair's shape, then ask AWS who it belongs to."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _

from .. import aws
from ..domain import Caller
from ..errors import AwsAccessDenied, AwsUnavailable, InvalidInput, KeysRefused

_KEY_ID = re.compile(r"^[A-Z0-9]{20}$")
_SECRET = re.compile(r"^[A-Za-z0-9/+]{40}$")
_ARN = re.compile(r"^arn:(?P<partition>aws[a-z-]*):(?P<service>iam|sts)::(?P<account>\d{12}):(?P<resource>.+)$")


def key_id_hint(typed: str | None) -> dict[str, str]:
    """The first and last four characters of a typed key id, for the audit, only when it has a key id's shape."""
    key_id = (typed or "").strip()
    # Anything else might be a secret pasted into the wrong field: it is not recorded at all.
    return {"key_id": f"{key_id[:4]}…{key_id[-4:]}"} if _KEY_ID.match(key_id) else {}


def check_key_shape(access_key_id: str, secret_access_key: str) -> tuple[str, str]:
    """Validate and normalise a pasted key pair before anything is sent to AWS."""
    key_id = (access_key_id or "").strip()
    secret = (secret_access_key or "").strip()
    if key_id.startswith("ASIA") and _KEY_ID.match(key_id):
        raise KeysRefused(
            _("This is a temporary access key (it starts with ASIA). The portal needs your long-term "
              "IAM user key, the one that starts with AKIA."),
            _("Use the access key pair your administrator gave you when your IAM user was created."),
            field="access_key_id",
        )
    if not _KEY_ID.match(key_id):
        raise InvalidInput(
            _("An access key ID is 20 capital letters and digits, starting with AKIA."),
            _("Copy it again from the credentials file or e-mail you received."),
            field="access_key_id",
        )
    if not key_id.startswith("AKIA"):
        raise InvalidInput(
            _("%(start)s… is not an access key ID (those start with AKIA); it may be a user or role ID.",
              start=key_id[:4]),
            _("Look for the value labelled 'Access key ID'."),
            field="access_key_id",
        )
    if not _SECRET.match(secret):
        raise InvalidInput(
            _("A secret access key is 40 characters of letters, digits, '/' and '+'."),
            _("Copy it again in full; it is shown only once when the key is created."),
            field="secret_access_key",
        )
    return key_id, secret


def identify(keys: aws.Keys, settings: aws.Settings) -> Caller:
    """Ask sts:GetCallerIdentity (allowed even under explicit deny) who owns the keys."""
    answer = aws.call(aws.client("sts", keys, settings), "GetCallerIdentity")
    return caller_from_arn(answer["Arn"], answer.get("UserId", ""))


def caller_from_arn(arn: str, user_id: str = "") -> Caller:
    """Accept only IAM user ARNs: refuse root, roles and federated sessions."""
    match = _ARN.match(arn)
    if not match:
        raise KeysRefused(_("AWS returned an identity the portal does not understand."), _("Ask an AWS administrator."))
    resource = match["resource"]
    if match["service"] == "iam" and resource == "root":
        raise KeysRefused(
            _("These are the AWS account root user's keys. Never use root keys for everyday work."),
            _("Delete the root access key in the AWS console, and sign in here with an IAM user's key."),
        )
    if match["service"] != "iam" or not resource.startswith("user/"):
        raise KeysRefused(
            _("These keys belong to a role or federated session, not to an IAM user."),
            _("The portal enrolls MFA for IAM users; sign in with your IAM user's access key."),
        )
    return Caller(arn=arn, account=match["account"], partition=match["partition"],
                  user_name=resource.rsplit("/", 1)[-1], user_id=user_id)


def account_alias(iam: Any) -> str | None:
    """Return the account alias (QR issuer), or None when there is none, it is hidden or AWS is slow."""
    try:
        aliases = aws.call(iam, "ListAccountAliases").get("AccountAliases", [])
    except (AwsAccessDenied, AwsUnavailable):
        # A nicety for the authenticator label must not block signing in.
        return None
    return aliases[0] if aliases else None

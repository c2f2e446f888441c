"""The signed-in person's server-side state: identity, encrypted keys, AWS clients from them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import current_app, session
from flask_login import UserMixin

from . import aws, vault
from .errors import AwsUnavailable, SessionExpired
from .services import codes
from .services.credentials import SessionCredentials
from .services.identity import Caller


class PortalUser(UserMixin):
    """The Flask-Login user, rebuilt each request from the server-side session."""

    def __init__(self, identity: dict[str, str]):
        self.caller = Caller(**identity)
        self.id = self.caller.arn
        self.arn = self.caller.arn
        self.user_name = self.caller.user_name

    @property
    def is_admin(self) -> bool:
        """Tell whether the configuration names this user (or, after MFA, their group) as admin."""
        return bool(session.get("is_admin")) or self.user_name in current_app.config["ADMIN_USERS"]

    @property
    def has_mfa_session(self) -> bool:
        """Tell whether this portal session holds unexpired MFA session credentials."""
        return mfa_credentials() is not None


def load_user(user_id: str) -> PortalUser | None:
    """Flask-Login loader: only the identity stored at sign-in is accepted."""
    identity = session.get("identity")
    if identity and identity.get("arn") == user_id and vault.get("access_key_id"):
        return PortalUser(identity)
    return None


def start(caller: Caller, keys: aws.Keys, alias: str | None) -> None:
    """Fill a fresh session after a successful sign-in."""
    session["identity"] = caller.as_dict()
    session["alias"] = alias
    session["created_at"] = time.time()
    vault.put(access_key_id=keys.access_key_id, secret_access_key=keys.secret_access_key)


def settings() -> aws.Settings:
    """Return the AWS endpoint settings from the app config."""
    return aws.Settings.from_config(current_app.config)


def keys() -> aws.Keys:
    """Return the long-term keys from the vault, or end the session if they are gone."""
    key_id, secret = vault.get("access_key_id"), vault.get("secret_access_key")
    if not key_id or not secret:
        raise SessionExpired()
    return aws.Keys(key_id, secret)


def client(service: str) -> Any:
    """Return a client signed with the person's long-term keys (pre-MFA calls)."""
    return aws.client(service, keys(), settings())


def mfa_credentials() -> SessionCredentials | None:
    """Return unexpired MFA session credentials obtained in this portal session."""
    data = vault.get("session_credentials")
    if not data:
        return None
    creds = SessionCredentials.from_dict(data)
    return None if creds.expired() else creds


def mfa_client(service: str) -> Any:
    """Return a client signed with the MFA session credentials (calls that need MFA)."""
    creds = mfa_credentials()
    if creds is None:
        raise SessionExpired("This step needs a current MFA code first.", "Get session credentials, then retry.")
    return aws.client(service, creds.keys(), settings())


def alias() -> str | None:
    """Return the account alias read at sign-in."""
    return session.get("alias")


@contextmanager
def spending_codes(serial: str, *spent: str) -> Iterator[None]:
    """Remember codes sent to AWS once it took them, or once its answer was lost, so a retry asks for new ones.

    AWS spends a code when it accepts it; if the answer never arrived it may have, and the same code
    typed again would only earn a cryptic refusal. A code AWS refused, or that never reached AWS, is
    not remembered: it was not spent.
    """
    try:
        yield
    except AwsUnavailable as err:
        if err.may_have_acted:
            session["used_codes"] = codes.remember(session.get("used_codes", []), serial, *spent)
        raise
    session["used_codes"] = codes.remember(session.get("used_codes", []), serial, *spent)

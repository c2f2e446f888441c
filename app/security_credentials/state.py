"""What the security-credentials views need from the typed portal session, in one thin place."""

from __future__ import annotations

from typing import Any

from .. import aws
from ..services import codes
from ..sessions import portal


def keys() -> aws.Keys:
    """Return the long-term key pair this portal session signs with."""
    return portal().keys()


def replace_keys(new: aws.Keys) -> None:
    """Switch this portal session to a new long-term key (kept encrypted, like the first)."""
    portal().replace_keys(new)


def client(service: str, keys_: aws.Keys | None = None) -> Any:
    """Return a client signed with the given keys, or the session's long-term keys."""
    return aws.client(service, keys_ or keys(), portal().settings)


def mfa_iam() -> Any:
    """Return an IAM client signed with the person's MFA session credentials."""
    return portal().mfa_client("iam")


def alias() -> str | None:
    """Return the account alias read at sign-in."""
    return portal().alias


def proven_within(seconds: int) -> bool:
    """Tell whether AWS accepted a code of the person's within the last `seconds`."""
    return portal().proven_within(seconds, now=codes.now())


def put_secret(name: str, value: Any) -> None:
    """Keep a secret, encrypted, until it is taken once."""
    portal().put_secret(name, value)


def take_secret(name: str) -> Any:
    """Return a one-shot secret and forget it, or None if it was already taken."""
    return portal().take_secret(name)


def flow(name: str) -> dict:
    """Return a flow's non-secret state (empty when there is none)."""
    return dict(portal().flow(name) or {})


def set_flow(name: str, state: dict | None) -> None:
    """Replace (or, with None, drop) a flow's non-secret state."""
    portal().set_flow(name, state)

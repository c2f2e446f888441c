"""What the security-credentials views need from the portal session, in one thin place.

Until the typed session object lands, this wraps app.current, app.vault and the session; the views
call only these functions, so switching is a change here alone.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import session

from .. import aws, current, vault
from ..services import codes

_FLOW = "own_credentials"  # small, non-secret per-flow state (key IDs, times)
_SECRETS = "one_shot"  # vault entry holding secrets to be shown once


def keys() -> aws.Keys:
    """Return the long-term key pair this portal session signs with."""
    return current.keys()


def replace_keys(new: aws.Keys) -> None:
    """Switch this portal session to a new long-term key (kept encrypted, like the first)."""
    vault.put(access_key_id=new.access_key_id, secret_access_key=new.secret_access_key)


def client(service: str, keys_: aws.Keys | None = None) -> Any:
    """Return a client signed with the given keys, or the session's long-term keys."""
    return aws.client(service, keys_ or keys(), current.settings())


def mfa_iam() -> Any:
    """Return an IAM client signed with the person's MFA session credentials."""
    return current.mfa_client("iam")


def alias() -> str | None:
    """Return the account alias read at sign-in."""
    return current.alias()


def proven_within(seconds: int) -> bool:
    """Tell whether AWS accepted a code of the person's within the last `seconds`."""
    creds = current.mfa_credentials()
    duration = session.get("credentials_meta", {}).get("duration")
    if creds is None or not duration:
        return False
    # The credentials start when AWS accepted the code: expiry minus their lifetime.
    issued = creds.expiration - timedelta(seconds=int(duration))
    return codes._clock() - issued.timestamp() <= seconds


def put_secret(name: str, value: Any) -> None:
    """Keep a secret, encrypted, until it is taken once."""
    held = vault.get(_SECRETS, {})
    held[name] = value
    vault.put(**{_SECRETS: held})


def take_secret(name: str) -> Any:
    """Return a one-shot secret and forget it, or None if it was already taken."""
    held = vault.get(_SECRETS, {})
    value = held.pop(name, None)
    vault.put(**{_SECRETS: held})
    return value


def flow(name: str) -> dict:
    """Return a flow's non-secret state (empty when there is none)."""
    return dict(session.get(_FLOW, {}).get(name, {}))


def set_flow(name: str, state: dict | None) -> None:
    """Replace (or, with None, drop) a flow's non-secret state."""
    flows = dict(session.get(_FLOW, {}))
    if state is None:
        flows.pop(name, None)
    else:
        flows[name] = state
    session[_FLOW] = flows

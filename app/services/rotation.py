"""Rotate the key the portal session signs with: plan around AWS's two-key quota, create, prove the new key."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .. import aws
from ..errors import KeysRejected
from . import identity
from .access_keys import MAX_KEYS, AccessKey, NewKey

PROVE_ATTEMPTS = 5
PROVE_PAUSE = 1.5  # seconds; IAM is eventually consistent and a brand-new key can be refused for a few seconds


@dataclass(frozen=True)
class Plan:
    """Whether a rotation can start, and the key in the way if not."""

    keys: list[AccessKey]
    blocker: AccessKey | None = None  # the key not in use, which must go first (AWS allows two)
    unknown: bool = False  # the blocker appeared during an attempt whose answer was lost: nobody has its secret
    secret_lost: bool = False  # the blocker was made, but the portal could not keep its secret to show it

    @property
    def in_use(self) -> AccessKey | None:
        """Return the key the portal session signs with."""
        return next((k for k in self.keys if k.in_use), None)


def plan(keys: list[AccessKey], lost_before: list[str] | None = None, secrets_lost: set[str] | None = None) -> Plan:
    """Decide whether a rotation can start.

    `lost_before` lists the key IDs seen before a lost CreateAccessKey; `secrets_lost`, the keys whose
    secret the portal could not keep (orphans, see `orphans`).
    """
    others = [k for k in keys if not k.in_use]
    if len(keys) < MAX_KEYS or not others:
        return Plan(keys)
    blocker = others[0]
    secret_lost = blocker.key_id in (secrets_lost or set())
    return Plan(keys, blocker, secret_lost or (lost_before is not None and blocker.key_id not in lost_before),
                secret_lost)


def orphans(keys: list[AccessKey], lost_before: list[str] | None, secrets_lost: set[str]) -> dict[str, bool]:
    """Return the keys nobody knows the secret of: {key ID: True if made but its secret not kept, False if the
    answer to CreateAccessKey was lost}."""
    found = {k.key_id: False for k in keys
             if lost_before is not None and not k.in_use and k.key_id not in lost_before}
    found.update({k.key_id: True for k in keys if not k.in_use and k.key_id in secrets_lost})
    return found


def prove(new: NewKey, caller_arn: str, settings: aws.Settings,
          sleep: Callable[[float], None] = time.sleep) -> bool:
    """Tell whether AWS accepts the new key as the same IAM user (sts:GetCallerIdentity), waiting a little."""
    keys = aws.Keys(new.key_id, new.secret)
    for attempt in range(PROVE_ATTEMPTS):
        try:
            return identity.identify(keys, settings).arn == caller_arn
        except KeysRejected:
            if attempt + 1 < PROVE_ATTEMPTS:
                sleep(PROVE_PAUSE)
    return False

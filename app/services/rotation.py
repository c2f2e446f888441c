"""Rotate the key the portal session signs with: plan around AWS's two-key quota, create, prove, switch."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from .. import aws
from ..domain import Actor, Caller, NewKey, Rotation
from ..errors import AwsUnavailable, KeysRejected, StoreUnavailable
from ..sessions import PortalSession
from . import access_keys, audit, identity
from .access_keys import MAX_KEYS, AccessKey
from .audit import Action, Outcome

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


def plan(keys: list[AccessKey], lost_before: Collection[str] | None = None,
         secrets_lost: set[str] | None = None) -> Plan:
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


def orphans(keys: list[AccessKey], lost_before: Collection[str] | None, secrets_lost: set[str]) -> dict[str, bool]:
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


def lost_before(state: PortalSession) -> tuple[str, ...] | None:
    """The key IDs AWS listed before a CreateAccessKey of this session whose answer was lost, if one was."""
    current = state.rotation()
    return current.lost_before if current else None


def made_already(state: PortalSession) -> bool:
    """Tell whether this session's rotation made its new key and the secret still waits on the next page."""
    current = state.rotation()
    return current is not None and current.new is not None and state.holds_new_key


def rotate(state: PortalSession, actor: Actor, caller: Caller, planned: Plan, profile: str,
           made: Callable[[NewKey], Any] = lambda new: None) -> Rotation:
    """Create the new key (audited), hold its secret sealed, prove it and switch the session to it.

    `made` hears of the new key before its secret is kept: from then until the session is saved, the secret
    lives only in this request (the web layer arranges what a failing store then says, `secret_not_kept`).
    """
    iam = state.mfa_client("iam")
    old = state.keys().access_key_id
    try:
        new = _create(iam, actor, caller.user_name, old)
    except AwsUnavailable as err:
        if err.may_have_acted:
            # AWS may hold a key whose secret nobody saw: the next visit finds it and offers to delete it.
            state.keep_rotation(Rotation(lost_before=tuple(k.key_id for k in planned.keys)))
        raise
    made(new)
    state.hold_new_key(new, profile)
    switched = prove(new, caller.arn, state.settings)
    if switched:
        state.replace_keys(aws.Keys(new.key_id, new.secret))
        audit.record(Action.PORTAL_KEY_SWITCHED, actor, key_id=new.key_id, old_key_id=old)
    progress = Rotation(new=new.key_id, old=old, switched=switched)
    state.keep_rotation(progress)
    return progress


def _create(iam: Any, actor: Actor, user_name: str, old: str) -> NewKey:
    """Call CreateAccessKey between its attempt and outcome records."""
    with audit.attempt(Action.ACCESS_KEY_CREATED, actor, old_key_id=old) as attempt:
        try:
            new = access_keys.create_key(iam, user_name)
        except AwsUnavailable as err:
            if not err.may_have_acted:
                raise
            raise AwsUnavailable.answer_lost() from None
        attempt.add(key_id=new.key_id)
    return new


def secret_not_kept(actor: Actor, key_id: str) -> StoreUnavailable:
    """Record that a new key's secret was lost with the session store, and say so on the 503 page."""
    audit.record(Action.ACCESS_KEY_SECRET_LOST, actor, Outcome.FAILURE, key_id=key_id)
    return StoreUnavailable(
        _("AWS made your new key %(id)s, but the portal could not keep its secret: its session store stopped "
          "answering. Nobody has seen the secret, so the key is of no use.", id=key_id),
        _("In a minute or so, open My access keys: the portal offers to delete that key. Then rotate again."))

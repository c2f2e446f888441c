"""Sign-in: check a pasted key pair with AWS, audit every try, and keep the budgets of failed tries.

Plain values in (what was typed, the client's address, the settings, the limiter's store): app/limits.py
reads them from the request, app/auth/routes.py turns the errors raised here into the page.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.strategies import RateLimiter

from .. import aws
from ..errors import InvalidInput, KeysRefused, KeysRejected, LimitsUnavailable, TooManyFailedSignIns
from . import audit, identity
from .audit import Action, Actor, Outcome
from .identity import Caller

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignedIn:
    """Whose keys these are, the keys themselves, and the account alias (the QR issuer), for the new session."""

    caller: Caller
    keys: aws.Keys
    alias: str | None


def refuse_plain_http(actor: Actor) -> None:
    """Audit a sign-in refused because it came over plain HTTP (the keys were not looked at)."""
    audit.record(Action.SIGN_IN, actor, Outcome.REFUSED, reason="plain http")


def check_keys(access_key_id: str | None, secret_access_key: str | None, settings: aws.Settings,
               actor: Actor) -> SignedIn:
    """Check the key pair's shape, ask AWS whose it is, and audit a failure; raise the refusal."""
    try:
        key_id, secret = identity.check_key_shape(access_key_id or "", secret_access_key or "")
        keys = aws.Keys(key_id, secret)
        caller = identity.identify(keys, settings)
    except (InvalidInput, KeysRejected, KeysRefused) as err:
        # A shortened key id lets an admin see a guessed or revoked key come back, without keeping what was typed.
        audit.record(Action.SIGN_IN, actor, Outcome.FAILURE, reason=type(err).__name__,
                     **identity.key_id_hint(access_key_id))
        raise
    return SignedIn(caller, keys, identity.account_alias(aws.client("iam", keys, settings)))


def signed_in(actor: Actor) -> None:
    """Audit a sign-in that began a session (the actor is the person now signed in)."""
    audit.record(Action.SIGN_IN, actor)


def signed_out(actor: Actor) -> None:
    """Audit a sign-out (recorded before the session, and the actor it names, is forgotten)."""
    audit.record(Action.SIGN_OUT, actor)


@dataclass(frozen=True)
class SignInBudget:
    """One budget of failed sign-ins: the setting that holds its rule, its scope, and how to say it ran out."""

    setting: str
    scope: str
    words: str  # a lazy_gettext string


# The words are lazy: they are put into the refusal's sentence in the language of the request that hit the limit.
PER_KEY = SignInBudget("SIGN_IN_LIMIT_PER_KEY", "sign-in-failures-per-key", lazy_gettext("for this access key"))
PER_ADDRESS = SignInBudget("SIGN_IN_LIMIT_PER_ADDRESS", "sign-in-failures-per-address",
                           lazy_gettext("from your network"))
_KEY_ID = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{16}$")


def rules(config: Mapping[str, Any], budget: SignInBudget) -> list[RateLimitItem]:
    """Return the limits a budget's setting names (e.g. '5 per minute;20 per hour')."""
    return parse_many(config[budget.setting])


def key_identity(typed_key_id: str | None, secret: str | bytes) -> str | None:
    """Name a typed access key ID without storing it: a keyed hash of its normalised form."""
    key_id = "".join((typed_key_id or "").split()).upper()
    if not key_id:
        return None
    # Keyed, so a copy of the counters does not confirm which key IDs exist or were tried.
    digest = hmac.new(secret.encode() if isinstance(secret, str) else secret, key_id.encode(), hashlib.sha256)
    return f"key:{digest.hexdigest()[:32]}"


def network_identity(remote_addr: str | None) -> str:
    """Name the client's network: its IPv4 address, or its IPv6 /64 (one subscriber's usual allocation)."""
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return f"ip:{remote_addr}"
    if address.version == 6:
        if address.ipv4_mapped:  # an IPv4 client seen through a dual-stack socket
            return f"ip:{address.ipv4_mapped}"
        # Any host holds a whole /64 to choose addresses from; per address it would get 2^64 budgets.
        return f"net:{ipaddress.ip_network((address, 64), strict=False)}"
    return f"ip:{address}"


class FailedSignIns:
    """The failure budgets one sign-in attempt is counted under, in the limiter's store."""

    def __init__(self, strategy: RateLimiter, config: Mapping[str, Any], typed_key_id: str | None,
                 remote_addr: str | None, secret: str | bytes, who: Callable[[], Actor], reason: str | None):
        self.strategy, self.typed_key_id, self.who, self.reason = strategy, typed_key_id, who, reason
        prefix = config["RATELIMIT_KEY_PREFIX"]
        identities = [(PER_KEY, key_identity(typed_key_id, secret)), (PER_ADDRESS, network_identity(remote_addr))]
        self.counters = [(budget, item, [prefix, budget.scope, name]) for budget, name in identities if name
                         for item in rules(config, budget)]

    def refuse_if_spent(self) -> None:
        """Raise TooManyFailedSignIns naming every spent budget and when the last of them frees up."""
        try:
            spent = [(budget, item, ids) for budget, item, ids in self.counters if not self.strategy.test(item, *ids)]
            if not spent:
                return
            reset = max(self.strategy.get_window_stats(item, *ids).reset_time for _budget, item, ids in spent)
        except StorageError as err:  # cannot tell whether guessing is going on: send nothing to AWS
            log.warning("rate-limit store unreachable (%s): sign-in refused", type(err.storage_error).__name__)
            raise LimitsUnavailable.for_sign_in() from err
        budgets = list(dict.fromkeys(budget for budget, _item, _ids in spent))
        for budget in budgets:
            audit.record(Action.RATE_LIMITED, self.who(), Outcome.REFUSED, reason=self.reason, budget=budget.scope)
        raise TooManyFailedSignIns([budget.words for budget in budgets], max(1, math.ceil(reset - time.time())))

    def count(self) -> None:
        """Spend one attempt of every budget; if the store cannot take it, refuse rather than go uncounted."""
        try:
            spent = []
            for budget, item, ids in self.counters:
                self.strategy.hit(item, *ids)
                # This failure spent the budget: a burst, reported once (later attempts are refused uncounted).
                if not self.strategy.test(item, *ids) and budget not in spent:
                    spent.append(budget)
        except StorageError as err:
            log.warning("rate-limit store unreachable (%s): failed sign-in not counted",
                        type(err.storage_error).__name__)
            raise LimitsUnavailable.for_sign_in() from err
        for budget in spent:
            self._report_burst(budget)

    def _report_burst(self, budget: SignInBudget) -> None:
        """Audit a burst of failed sign-ins (its event tells the security team): the key ID tried, or the network."""
        tried = (self.typed_key_id or "").strip()
        key_id = tried if budget is PER_KEY and _KEY_ID.match(tried) else None
        audit.record(Action.SIGN_IN_BURST, self.who(), Outcome.REFUSED, budget=budget.scope, key_id=key_id)

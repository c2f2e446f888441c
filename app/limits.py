"""Rate limits on requests: who is counted, and how much is allowed (code budgets: code_budgets.py)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import current_app, make_response, request
from flask_babel import lazy_gettext
from flask_login import current_user
from limits import RateLimitItem, parse_many
from limits.errors import StorageError

from .errors import LimitsUnavailable, PortalError, TooManyFailedSignIns
from .extensions import limiter
from .login import current_actor
from .services import audit

log = logging.getLogger(__name__)
ADMIN = "30 per minute"
# What a failed sign-in answers: malformed, rejected or refused keys (and a form without them). A success
# (302) is not counted, nor is AWS not answering (503): neither is someone guessing.
_FAILED_SIGN_IN = {400, 401, 403}


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


def rules(config, budget: SignInBudget) -> list[RateLimitItem]:
    """Return the limits a budget's setting names (e.g. '5 per minute;20 per hour')."""
    return parse_many(config[budget.setting])


def key_id_identity() -> str | None:
    """Name the access key ID from the form without storing it: a keyed hash of its normalised form."""
    key_id = "".join((request.form.get("access_key_id") or "").split()).upper()
    if not key_id:
        return None
    # Keyed, so a copy of the counters does not confirm which key IDs exist or were tried.
    secret = current_app.secret_key
    secret = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(secret, key_id.encode(), hashlib.sha256).hexdigest()
    return f"key:{digest[:32]}"


def network_identity() -> str:
    """Name the client's network: its IPv4 address, or its IPv6 /64 (one subscriber's usual allocation)."""
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return f"ip:{request.remote_addr}"
    if address.version == 6:
        if address.ipv4_mapped:  # an IPv4 client seen through a dual-stack socket
            return f"ip:{address.ipv4_mapped}"
        # Any host holds a whole /64 to choose addresses from; per address it would get 2^64 budgets.
        return f"net:{ipaddress.ip_network((address, 64), strict=False)}"
    return f"ip:{address}"


def _sign_in_counters() -> list[tuple[SignInBudget, RateLimitItem, list[str]]]:
    """Every (budget, limit, storage identifiers) this sign-in attempt is counted under."""
    prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
    identities = [(PER_KEY, key_id_identity()), (PER_ADDRESS, network_identity())]
    return [(budget, item, [prefix, budget.scope, identity]) for budget, identity in identities if identity
            for item in rules(current_app.config, budget)]


def _refuse_if_spent(counters) -> None:
    """Raise TooManyFailedSignIns naming every spent budget and when the last of them frees up."""
    strategy = limiter.limiter
    spent = [(budget, item, ids) for budget, item, ids in counters if not strategy.test(item, *ids)]
    if not spent:
        return
    reset = max(strategy.get_window_stats(item, *ids).reset_time for _budget, item, ids in spent)
    budgets = list(dict.fromkeys(budget for budget, _item, _ids in spent))
    for budget in budgets:
        audit.record(audit.Action.RATE_LIMITED, current_actor(), audit.Outcome.REFUSED, reason=request.endpoint,
                     budget=budget.scope)
    raise TooManyFailedSignIns([budget.words for budget in budgets], max(1, math.ceil(reset - time.time())))


def limit_sign_ins(view: Callable) -> Callable:
    """Refuse a sign-in once a failure budget is spent, before AWS hears of it; count it only if it fails."""

    @wraps(view)
    def limited(*args, **kwargs):
        if request.method != "POST" or not current_app.config["RATELIMIT_ENABLED"]:
            return view(*args, **kwargs)
        counters = _sign_in_counters()
        try:
            _refuse_if_spent(counters)
        except StorageError as err:  # cannot tell whether guessing is going on: send nothing to AWS
            log.warning("rate-limit store unreachable (%s): sign-in refused", type(err.storage_error).__name__)
            raise LimitsUnavailable.for_sign_in() from err
        try:
            response = make_response(view(*args, **kwargs))
        except PortalError as err:  # a refusal raised for the error page to render counts like one returned
            if err.status in _FAILED_SIGN_IN:
                _count_failure(counters)
            raise
        if response.status_code in _FAILED_SIGN_IN:
            _count_failure(counters)
        return response

    return limited


def _count_failure(counters) -> None:
    """Spend one attempt of every budget; if the store cannot take it, refuse rather than go uncounted."""
    try:
        spent = []
        for budget, item, ids in counters:
            limiter.limiter.hit(item, *ids)
            # This failure spent the budget: a burst, reported once (later attempts are refused uncounted).
            if not limiter.limiter.test(item, *ids) and budget not in spent:
                spent.append(budget)
    except StorageError as err:
        log.warning("rate-limit store unreachable (%s): failed sign-in not counted", type(err.storage_error).__name__)
        raise LimitsUnavailable.for_sign_in() from err
    for budget in spent:
        _report_burst(budget)


_KEY_ID = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{16}$")


def _report_burst(budget: SignInBudget) -> None:
    """Audit a burst of failed sign-ins (its event tells the security team): the key ID tried, or the network."""
    from .services import audit

    tried = (request.form.get("access_key_id") or "").strip()
    key_id = tried if budget is PER_KEY and _KEY_ID.match(tried) else None
    audit.record(audit.Action.SIGN_IN_BURST, current_actor(), audit.Outcome.REFUSED, budget=budget.scope,
                 key_id=key_id)


def per_user() -> str:
    """Count a signed-in person per IAM user, wherever they come from; anyone else per address."""
    if current_user.is_authenticated:
        return f"user:{current_user.arn}"
    return f"ip:{request.remote_addr}"


# Admins are counted as people, not addresses: several admins behind one office NAT keep their own budgets,
# and one admin gains nothing by switching networks. One budget covers every admin POST.
limit_admin_actions = limiter.shared_limit(ADMIN, scope="admin-actions", key_func=per_user, methods=["POST"])


@limiter.request_filter
def _reads_are_never_limited() -> bool:
    """Every limit here counts POSTs only; saying so up front spares page views the limiter's bookkeeping."""
    return request.method in ("GET", "HEAD", "OPTIONS")

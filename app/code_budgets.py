"""Code budgets: how many one-time codes a person and a device may send to AWS, counted in the limiter's store.

Apart from limits.py so the code path (services/codes.py) counts codes from the values it is given, without
the request or the signed-in user.
"""

from __future__ import annotations

import logging
import math
import time

from flask import current_app
from limits import RateLimitItem, parse_many
from limits.errors import StorageError

from .errors import LimitsUnavailable, TooManyCodeChecks
from .extensions import limiter

log = logging.getLogger(__name__)
CODES = "8 per minute;60 per hour"
# Tighter than CODES: a person with several devices may use all of them, but one device's
# six digits should not be guessed at more than this, from any session.
DEVICE_CODES = "6 per minute;30 per hour"
_MAX_SERIAL = 256  # an MFA serial ARN is at most this long; longer form values are not serials


def code_counters(user_arn: str | None, serial: str) -> list[tuple[str, RateLimitItem, list[str]]]:
    """Every (scope, limit, storage identifiers) one code check is counted under: the person's and the device's."""
    prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
    # One budget for every code the person types (enable, resync, credentials, replace, hardware token...),
    # so spreading guesses over the flows gains nothing; the device's own budget is tighter.
    scopes = [("codes-per-user", CODES, f"user:{user_arn}"),
              ("codes-per-device", DEVICE_CODES, f"device:{serial[:_MAX_SERIAL]}")]
    return [(scope, item, [prefix, scope, identity]) for scope, rule, identity in scopes for item in parse_many(rule)]


def spend(user_arn: str | None, serial: str) -> None:
    """Count one code about to be sent to AWS; refuse it (nothing sent) once a budget is spent.

    Raises TooManyCodeChecks with the seconds until the last spent budget frees up, or LimitsUnavailable
    when the counters cannot be reached: a code check nobody can count is not sent (fail closed).
    """
    if not current_app.config["RATELIMIT_ENABLED"]:
        return
    strategy = limiter.limiter
    counters = code_counters(user_arn, serial)
    try:
        # Tested first and spent only if all allow it: a refused code never reaches AWS, so it costs nothing.
        spent = [(scope, item, ids) for scope, item, ids in counters if not strategy.test(item, *ids)]
        reset = max((strategy.get_window_stats(item, *ids).reset_time for _scope, item, ids in spent), default=0)
        if not spent:
            for _scope, item, ids in counters:
                strategy.hit(item, *ids)
    except StorageError as err:
        log.warning("rate-limit store unreachable (%s): code check refused", type(err.storage_error).__name__)
        raise LimitsUnavailable.for_actions() from err
    if spent:
        raise TooManyCodeChecks(list(dict.fromkeys(scope for scope, _item, _ids in spent)),
                                max(1, math.ceil(reset - time.time())))

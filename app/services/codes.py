"""One-time codes: shape checks, AWS's no-reuse rule, when the next code comes, and the one path that sends them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from flask_babel import gettext as _
from flask_babel import ngettext

from .. import code_budgets
from ..errors import AwsUnavailable, CodeAlreadyUsed, CodeRejected, TooManyCodeChecks
from . import audit

if TYPE_CHECKING:
    from ..sessions import PortalSession

T = TypeVar("T")

STEP = 30  # seconds per TOTP code, as every authenticator app uses
# A code's shape, which the forms check; \d would also take other scripts' digits, which AWS refuses.
SIX_DIGITS = r"^[0-9]{6}$"


def now() -> float:
    """The time codes are judged by: the process's clock, which the authenticator app's should match."""
    return time.time()


def seconds_until_next(now: float | None = None) -> int:
    """Return how many seconds remain before the app shows a new code."""
    now = time.time() if now is None else now
    return STEP - int(now) % STEP


def _totp(seed: str, step: int) -> str:
    """The RFC 6238 code of a base32 seed at a time step (SHA-1, 6 digits, as every virtual device uses)."""
    key = base64.b32decode(seed.upper() + "=" * (-len(seed) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def were_too_old(seed: str, first: str, second: str, now: float | None = None) -> bool:
    """Tell whether two refused codes were consecutive codes of this seed from one to ten minutes ago."""
    step = int((time.time() if now is None else now) // STEP)
    # AWS takes a pair starting up to about a minute back; older pairs it refuses with the same words as wrong ones.
    return any(_totp(seed, s) == first and _totp(seed, s + 1) == second for s in range(step - 20, step - 2))


def refuse_reuse(code: str, used: list[dict], serial: str, now: float | None = None) -> None:
    """Stop a code already spent on this device before AWS refuses it with a cryptic error.

    `used` holds the codes still remembered as spent (PortalSession.spent_codes, which forgets them after
    SPENT_CODE_MEMORY: codes repeat after a million steps, so only recent spending counts).
    """
    now = time.time() if now is None else now
    for entry in used:
        if entry["serial"] == serial and entry["code"] == code:
            wait = seconds_until_next(now)
            raise CodeAlreadyUsed(
                _("AWS refuses a code that was already used, and this one was just sent to AWS to set up or check "
                  "your device."),
                ngettext("Wait for the next code (about %(num)s second) and type that one.",
                         "Wait for the next code (about %(num)s seconds) and type that one.", wait),
                wait_seconds=wait,
            )


def submit(state: PortalSession, actor: audit.Actor, action: audit.Action, serial: str, codes: tuple[str, ...],
           send: Callable[[], T], first_enrollment: bool = False, **detail: Any) -> T:
    """Send codes the person typed to AWS: the one path every code takes.

    Refuses a code already spent on this device before AWS would; announces the action in the audit
    log (or refuses to act); remembers the codes as spent once AWS took them, or once its answer was
    lost and it may have (a code AWS refused, or that never reached AWS, was not spent); and records
    how it ended; counts it against the person's and the device's rate limits first. The format was
    checked by the form.
    """
    now = time.time()
    for code in codes:
        refuse_reuse(code, state.spent_codes(now), serial, now)
    try:
        code_budgets.spend(actor.arn, serial)
    except TooManyCodeChecks as err:
        for budget in err.budgets:
            audit.record(audit.Action.RATE_LIMITED, actor, audit.Outcome.REFUSED, reason=action.value, budget=budget)
        raise
    with audit.attempt(action, actor, device=serial, **detail) as attempt:
        attempt.first_enrollment = first_enrollment
        try:
            result = send()
        except AwsUnavailable as err:
            if err.may_have_acted:
                state.spend(serial, *codes, now=now)
            raise
        except CodeRejected:
            attempt.settle(audit.Outcome.FAILURE, reason="code rejected")
            state.forget_devices()  # the device may have changed elsewhere: the next page asks AWS again
            raise
    state.spend(serial, *codes, now=now)
    state.mark_proven(now)
    return result

"""Attempt-then-outcome audit records for own-credential changes (until audit grows its own attempt API)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import AwsUnavailable, PortalError
from ..services import audit


class Attempt:
    """Details learnt during the change (a new key's ID), added to the outcome record."""

    def __init__(self, detail: dict[str, Any]):
        """Start with the details known before the call."""
        self.detail = dict(detail)

    def add(self, **detail: Any) -> None:
        """Add details for the outcome record."""
        self.detail.update(detail)


@contextmanager
def attempt(action: str, **detail: Any) -> Iterator[Attempt]:
    """Record the attempt before the AWS call, then its outcome: success, failure or unknown (lost answer)."""
    # Written first, so a change AWS made is never missing from the log even if this process dies mid-way.
    audit.record(action, outcome="attempt", **detail)
    current = Attempt(detail)
    try:
        yield current
    except AwsUnavailable as err:
        audit.record(action, outcome="unknown" if err.may_have_acted else "failure", reason="aws unavailable",
                     **current.detail)
        raise
    except PortalError as err:
        # An AWS refusal carries AWS's error code; other domain errors are named by their type.
        error = getattr(err, "code", None) or type(err).__name__
        audit.record(action, outcome="failure", error=error, **current.detail)
        raise
    audit.record(action, **current.detail)

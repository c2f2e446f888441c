"""Attempt-then-outcome audit records for own-credential changes, named by their audit action."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import AwsError
from ..services import audit
from ..sessions import current_actor


@contextmanager
def attempt(action: str, **detail: Any) -> Iterator[audit.Attempt]:
    """Record the attempt before the AWS call (or refuse to act), then its outcome."""
    with audit.attempt(audit.Action(action), current_actor(), **detail) as pending:
        try:
            yield pending
        except AwsError as err:
            # An AWS refusal carries AWS's error code: more useful to an admin than the type's name.
            pending.settle(audit.Outcome.FAILURE, error=err.code)
            raise

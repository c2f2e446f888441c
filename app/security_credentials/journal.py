"""Attempt-then-outcome audit records for own-credential changes, named by their audit action."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask_babel import gettext as _

from ..errors import AwsError, AwsUnavailable
from ..login import current_actor
from ..services import audit


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
        except AwsUnavailable as err:
            if not err.may_have_acted:
                raise
            # The audit records "unknown"; the person learns the same, and where the answer will be found.
            raise AwsUnavailable(
                _("AWS's answer to this change was lost on the way, so the portal cannot tell yet whether AWS "
                  "made it."),
                _("Open the list of these credentials: the portal checks there what AWS did and tells you."),
                may_have_acted=True) from None

"""Turn IAM's refusals of self-service credential changes into plain words and a next step."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask_babel import gettext as _

from ..errors import AwsError, InvalidInput, LimitReached, NotThere, PortalError, StepUpNeeded, TryShortly
from ..i18n import sentences

# Codes AWS gives for an upload or a value it will not take, already explained by the caller's `bad_input`.
_BAD_VALUE = {"InvalidInput", "ValidationError", "MalformedCertificate", "InvalidCertificate",
              "InvalidPublicKey", "UnrecognizedPublicKeyEncoding", "DuplicateSSHPublicKey",
              "DuplicateCertificate", "KeyPairMismatch", "MalformedPolicyDocument"}


def plain(err: AwsError, thing: str, limit: str | None = None, bad_input: str | None = None) -> PortalError:
    """Return the domain error a person can act on for an AWS error about `thing` (e.g. "access key").

    `thing` is already in the person's language, like `limit` and `bad_input`.
    """
    if err.code == "LimitExceeded":
        return LimitReached(limit or _("AWS allows no more of these for your user (%(thing)s).", thing=thing),
                            _("Delete one you no longer use, then try again."))
    if err.code == "NoSuchEntity":
        return NotThere(_("That %(thing)s does not exist any more; it may have been changed in another window.",
                          thing=thing),
                        _("Reload the page to see what is there now."))
    if err.code == "EntityTemporarilyUnmodifiable":
        return TryShortly(_("AWS is still applying an earlier change to your user, so the %(thing)s cannot change "
                            "yet.", thing=thing),
                          _("Wait a minute, then try again."))
    if err.code == "AccessDenied" and err.aws_message.startswith("MultiFactorAuthentication"):
        return StepUpNeeded(_("AWS wants an MFA session for this change."), _("Type a current code, then try again."))
    if err.code in _BAD_VALUE:
        said = bad_input or sentences(_("AWS did not accept this %(thing)s.", thing=thing),
                                      _("AWS says: %(code)s.", code=err.code))
        return InvalidInput(said, _("Check the value and try again."))
    return err


@contextmanager
def refused(thing: str, limit: str | None = None, bad_input: str | None = None) -> Iterator[None]:
    """Translate AWS errors raised inside the block with `plain`."""
    try:
        yield
    except AwsError as err:
        raise plain(err, thing, limit, bad_input) from None

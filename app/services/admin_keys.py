"""An admin deactivates another user's access key: always toward Inactive, audited with attempt and outcome."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext

from ..errors import Refusal
from . import access_keys, audit
from .access_keys import AccessKey
from .audit import Action


class UnknownKey(Refusal):
    """The key is not (or no longer) one of the user's keys."""

    status = 404
    title = lazy_gettext("No such access key")


class AlreadyInactive(Refusal):
    """The key is inactive already: nothing to do (a second click, or someone else was quicker)."""

    status = 409
    title = lazy_gettext("The access key is already inactive")


class OwnSigningKey(Refusal):
    """The admin asked to deactivate the very key their portal session signs with."""

    status = 409
    title = lazy_gettext("This is the key you signed in with")


def find_key(iam_with_mfa: Any, user_name: str, key_id: str) -> AccessKey:
    """Return the user's key as AWS lists it now (ListAccessKeys)."""
    keys = access_keys.list_keys(iam_with_mfa, user_name, in_use="")
    key = next((k for k in keys if k.key_id == key_id), None)
    if key is None:
        raise UnknownKey(_("%(user)s has no access key %(key)s.", user=user_name, key=key_id),
                         _("It may have been deleted meanwhile; open the user's page again."))
    return key


def active_key(iam_with_mfa: Any, user_name: str, key_id: str) -> AccessKey:
    """Return the user's key while it is still Active; one already inactive is said to be so (AlreadyInactive)."""
    key = find_key(iam_with_mfa, user_name, key_id)
    if key.status != "Active":
        raise AlreadyInactive(_("The access key %(key)s of %(user)s is already inactive; nothing was changed.",
                                key=key_id, user=user_name),
                              _("Open the user's page to see their keys as AWS lists them now."))
    return key


def deactivate(iam_with_mfa: Any, actor: audit.Actor, user_name: str, key_id: str, reason: str,
               signing_key: str | None = None) -> AccessKey:
    """Set the key Inactive (UpdateAccessKey); a key already inactive is left alone and said so."""
    if key_id == signing_key:
        # The portal would lose the key it calls AWS with in the middle of the admin's own session.
        raise OwnSigningKey(_("The portal signs your requests with the access key %(key)s.", key=key_id),
                            _("Rotate it on your own access keys page instead: that makes a new key first."))
    key = active_key(iam_with_mfa, user_name, key_id)
    # The target state goes to AWS, not a toggle: a repeated request can only confirm Inactive.
    with audit.attempt(Action.ADMIN_KEY_DEACTIVATED, actor, subject=user_name, key_id=key_id, reason=reason,
                       status="Inactive"):
        access_keys.set_status(iam_with_mfa, user_name, key_id, active=False)
    return key

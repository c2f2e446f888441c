"""One description per kind of long-term credential (access key, SSH key, signing certificate), and its changes."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from .. import aws
from . import access_keys, signing_certs, ssh_keys
from .audit import Action
from .refusals import refused


@dataclass(frozen=True)
class Words:
    """What the pages and messages say about one kind; `%(id)s` stands for the credential's ID."""

    thing: LazyString  # as refusals name it: "access key"
    id_heading: LazyString
    table_label: LazyString  # the scrolling table's accessible name
    already_active: LazyString
    already_inactive: LazyString
    now_active: LazyString
    now_inactive: LazyString
    deleted: LazyString
    already_deleted: LazyString
    delete_title: LazyString
    delete_heading: LazyString
    delete_effect: LazyString  # holds <code>: rendered as markup, the ID escaped
    lost_delete_done: LazyString
    lost_delete_not_done: LazyString


@dataclass(frozen=True)
class CredentialKind:
    """A kind of credential: its AWS operations, ID pattern, quota, audit actions and words.

    `item_id` reads an item's ID from what `lister` returns; `protected` marks items only another flow may change
    (the access key the portal signs with goes only through rotation).
    """

    name: str  # names its lost deletes (lost.py)
    id_pattern: re.Pattern[str]
    quota: int
    lister: Callable[[Any, str, str], list[Any]]  # (iam, user name, access key ID in use): the List… call, oldest first
    update_op: str
    delete_op: str
    id_param: str  # the ID's parameter name in update_op and delete_op
    detail_key: str  # the ID's name in audit details
    status_action: Action
    deleted_action: Action
    list_needs_mfa: bool  # ListSigningCertificates is denied before MFA; the other two lists are not
    item_id: Callable[[Any], str]
    words: Words
    protected: Callable[[Any], bool] = lambda item: False

    def valid_id(self, value: str) -> bool:
        """Tell whether `value` can be an ID of this kind (anything else is a 404 before AWS is asked)."""
        return bool(self.id_pattern.match(value))


def set_status(kind: CredentialKind, iam_with_mfa: Any, user_name: str, item_id: str, active: bool) -> None:
    """Activate or deactivate one of the user's credentials of this kind."""
    with refused(str(kind.words.thing)):
        aws.call(iam_with_mfa, kind.update_op, UserName=user_name, **{kind.id_param: item_id},
                 Status="Active" if active else "Inactive")


def delete(kind: CredentialKind, iam_with_mfa: Any, user_name: str, item_id: str) -> None:
    """Delete one of the user's credentials of this kind for good."""
    with refused(str(kind.words.thing)):
        aws.call(iam_with_mfa, kind.delete_op, UserName=user_name, **{kind.id_param: item_id})


ACCESS_KEY = CredentialKind(
    name="key", id_pattern=re.compile(r"^AKIA[A-Z0-9]{16}$"), quota=access_keys.MAX_KEYS,
    lister=access_keys.list_keys, update_op="UpdateAccessKey", delete_op="DeleteAccessKey", id_param="AccessKeyId",
    detail_key="key_id", status_action=Action.ACCESS_KEY_STATUS, deleted_action=Action.ACCESS_KEY_DELETED,
    list_needs_mfa=False, item_id=lambda k: k.key_id, protected=lambda k: k.in_use,
    words=Words(
        thing=_l("access key"), id_heading=_l("Access key ID"),
        table_label=_l("Access keys, scrolls sideways"),
        already_active=_l("Key %(id)s is already active."), already_inactive=_l("Key %(id)s is already inactive."),
        now_active=_l("Key %(id)s is now active."), now_inactive=_l("Key %(id)s is now inactive."),
        deleted=_l("Key %(id)s is deleted."), already_deleted=_l("Key %(id)s is already deleted."),
        delete_title=_l("Delete access key"), delete_heading=_l("Delete access key %(key)s?"),
        delete_effect=_l("Anything still using <code>%(key)s</code> stops working at once and for good: scripts, "
                         "CI jobs, AWS CLI profiles and tools on other computers that have this key in their "
                         "configuration. Deleting cannot be undone."),
        lost_delete_done=_l("AWS did delete key %(id)s on your last attempt, although its answer was lost."),
        lost_delete_not_done=_l("Your last attempt did not delete key %(id)s. It still works.")))

SSH_KEY = CredentialKind(
    name="ssh", id_pattern=re.compile(r"^APKA[A-Z0-9]{16}$"), quota=ssh_keys.MAX_KEYS,
    lister=lambda iam, user_name, _in_use: ssh_keys.list_keys(iam, user_name),
    update_op="UpdateSSHPublicKey", delete_op="DeleteSSHPublicKey",
    id_param="SSHPublicKeyId", detail_key="ssh_key_id", status_action=Action.SSH_KEY_STATUS,
    deleted_action=Action.SSH_KEY_DELETED, list_needs_mfa=False, item_id=lambda k: k.key_id,
    words=Words(
        thing=_l("SSH public key"), id_heading=_l("SSH key ID"),
        table_label=_l("SSH keys, scrolls sideways"),
        already_active=_l("SSH key %(id)s is already active."),
        already_inactive=_l("SSH key %(id)s is already inactive."),
        now_active=_l("SSH key %(id)s is now active."), now_inactive=_l("SSH key %(id)s is now inactive."),
        deleted=_l("SSH key %(id)s is deleted."), already_deleted=_l("SSH key %(id)s is already deleted."),
        delete_title=_l("Delete SSH key"), delete_heading=_l("Delete SSH key %(key)s?"),
        delete_effect=_l("Git connections to CodeCommit as <code>%(key)s</code> stop working at once. Deleting "
                         "cannot be undone; you can upload the key again later and get a new ID."),
        lost_delete_done=_l("AWS did delete SSH key %(id)s on your last attempt, although its answer was lost."),
        lost_delete_not_done=_l("Your last attempt did not delete SSH key %(id)s. It still works.")))

SIGNING_CERT = CredentialKind(
    name="cert", id_pattern=re.compile(r"^[A-Za-z0-9]{16,128}$"),  # AWS: upper case; moto: lower
    quota=signing_certs.MAX_CERTS, lister=lambda iam, user_name, _in_use: signing_certs.list_certs(iam, user_name),
    update_op="UpdateSigningCertificate",
    delete_op="DeleteSigningCertificate", id_param="CertificateId", detail_key="cert_id",
    status_action=Action.SIGNING_CERT_STATUS, deleted_action=Action.SIGNING_CERT_DELETED, list_needs_mfa=True,
    item_id=lambda c: c.cert_id,
    words=Words(
        thing=_l("signing certificate"), id_heading=_l("Certificate ID"),
        table_label=_l("Signing certificates, scrolls sideways"),
        already_active=_l("Certificate %(id)s is already active."),
        already_inactive=_l("Certificate %(id)s is already inactive."),
        now_active=_l("Certificate %(id)s is now active."), now_inactive=_l("Certificate %(id)s is now inactive."),
        deleted=_l("Certificate %(id)s is deleted."), already_deleted=_l("Certificate %(id)s is already deleted."),
        delete_title=_l("Delete signing certificate"), delete_heading=_l("Delete signing certificate %(key)s?"),
        delete_effect=_l("AWS services that check requests signed with certificate <code>%(key)s</code> refuse "
                         "them at once. Deleting cannot be undone."),
        lost_delete_done=_l("AWS did delete certificate %(id)s on your last attempt, although its answer was "
                            "lost."),
        lost_delete_not_done=_l("Your last attempt did not delete certificate %(id)s. It still works.")))

"""One description per kind of long-term credential (access key, SSH key, signing certificate), and its changes."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from .. import aws
from . import access_keys, signing_certs, ssh_keys
from .audit import Action
from .refusals import refused


def N_(message: str) -> str:  # gettext's name for a no-op marker: the extractor knows it
    """Mark a sentence for the catalog; it is translated where it is said, in that request's language."""
    return message


@dataclass(frozen=True)
class Words:
    """What the pages and messages say about one kind, untranslated; `%(id)s` stands for the credential's ID."""

    thing: str  # as refusals name it: "access key"
    id_heading: str
    table_label: str  # the scrolling table's accessible name
    already_active: str
    already_inactive: str
    now_active: str
    now_inactive: str
    deleted: str
    already_deleted: str
    delete_title: str
    delete_heading: str
    delete_effect: str  # holds <code>: rendered as markup, the ID escaped
    lost_delete_done: str
    lost_delete_not_done: str
    lost_upload_done: str = ""  # kinds the person uploads (SSH keys, certificates); access keys are made by AWS
    lost_upload_not_done: str = ""


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
    uploader: Callable[[Any, str, str], Any] | None = None  # (iam with MFA, user name, body): the Upload… call
    uploaded_action: Action | None = None

    def valid_id(self, value: str) -> bool:
        """Tell whether `value` can be an ID of this kind (anything else is a 404 before AWS is asked)."""
        return bool(self.id_pattern.match(value))


def set_status(kind: CredentialKind, iam_with_mfa: Any, user_name: str, item_id: str, active: bool) -> None:
    """Activate or deactivate one of the user's credentials of this kind."""
    with refused(_(kind.words.thing)):
        aws.call(iam_with_mfa, kind.update_op, UserName=user_name, **{kind.id_param: item_id},
                 Status="Active" if active else "Inactive")


def delete(kind: CredentialKind, iam_with_mfa: Any, user_name: str, item_id: str) -> None:
    """Delete one of the user's credentials of this kind for good."""
    with refused(_(kind.words.thing)):
        aws.call(iam_with_mfa, kind.delete_op, UserName=user_name, **{kind.id_param: item_id})


ACCESS_KEY = CredentialKind(
    name="key", id_pattern=re.compile(r"^AKIA[A-Z0-9]{16}$"), quota=access_keys.MAX_KEYS,
    lister=access_keys.list_keys, update_op="UpdateAccessKey", delete_op="DeleteAccessKey", id_param="AccessKeyId",
    detail_key="key_id", status_action=Action.ACCESS_KEY_STATUS, deleted_action=Action.ACCESS_KEY_DELETED,
    list_needs_mfa=False, item_id=lambda k: k.key_id, protected=lambda k: k.in_use,
    words=Words(
        thing=N_("access key"), id_heading=N_("Access key ID"),
        table_label=N_("Access keys, scrolls sideways"),
        already_active=N_("Key %(id)s is already active."), already_inactive=N_("Key %(id)s is already inactive."),
        now_active=N_("Key %(id)s is now active."), now_inactive=N_("Key %(id)s is now inactive."),
        deleted=N_("Key %(id)s is deleted."), already_deleted=N_("Key %(id)s is already deleted."),
        delete_title=N_("Delete access key"), delete_heading=N_("Delete access key %(key)s?"),
        delete_effect=N_("Anything still using <code>%(key)s</code> stops working at once and for good: scripts, "
                         "CI jobs, AWS CLI profiles and tools on other computers that have this key in their "
                         "configuration. Deleting cannot be undone."),
        lost_delete_done=N_("AWS did delete key %(id)s on your last attempt, although its answer was lost."),
        lost_delete_not_done=N_("Your last attempt did not delete key %(id)s. It still works.")))

SSH_KEY = CredentialKind(
    name="ssh", id_pattern=re.compile(r"^APKA[A-Z0-9]{16}$"), quota=ssh_keys.MAX_KEYS,
    lister=lambda iam, user_name, _in_use: ssh_keys.list_keys(iam, user_name),
    update_op="UpdateSSHPublicKey", delete_op="DeleteSSHPublicKey",
    id_param="SSHPublicKeyId", detail_key="ssh_key_id", status_action=Action.SSH_KEY_STATUS,
    deleted_action=Action.SSH_KEY_DELETED, list_needs_mfa=False, item_id=lambda k: k.key_id,
    words=Words(
        thing=N_("SSH public key"), id_heading=N_("SSH key ID"),
        table_label=N_("SSH keys, scrolls sideways"),
        already_active=N_("SSH key %(id)s is already active."),
        already_inactive=N_("SSH key %(id)s is already inactive."),
        now_active=N_("SSH key %(id)s is now active."), now_inactive=N_("SSH key %(id)s is now inactive."),
        deleted=N_("SSH key %(id)s is deleted."), already_deleted=N_("SSH key %(id)s is already deleted."),
        delete_title=N_("Delete SSH key"), delete_heading=N_("Delete SSH key %(key)s?"),
        delete_effect=N_("Git connections to CodeCommit as <code>%(key)s</code> stop working at once. Deleting "
                         "cannot be undone; you can upload the key again later and get a new ID."),
        lost_delete_done=N_("AWS did delete SSH key %(id)s on your last attempt, although its answer was lost."),
        lost_delete_not_done=N_("Your last attempt did not delete SSH key %(id)s. It still works."),
        lost_upload_done=N_("Your last upload did reach AWS: SSH key %(id)s is uploaded."),
        lost_upload_not_done=N_("Your last upload did not reach AWS: no SSH key was added. Upload it again.")),
    uploader=ssh_keys.upload, uploaded_action=Action.SSH_KEY_UPLOADED)

SIGNING_CERT = CredentialKind(
    name="cert", id_pattern=re.compile(r"^[A-Za-z0-9]{16,128}$"),  # AWS: upper case; moto: lower
    quota=signing_certs.MAX_CERTS, lister=lambda iam, user_name, _in_use: signing_certs.list_certs(iam, user_name),
    update_op="UpdateSigningCertificate",
    delete_op="DeleteSigningCertificate", id_param="CertificateId", detail_key="cert_id",
    status_action=Action.SIGNING_CERT_STATUS, deleted_action=Action.SIGNING_CERT_DELETED, list_needs_mfa=True,
    item_id=lambda c: c.cert_id,
    words=Words(
        thing=N_("signing certificate"), id_heading=N_("Certificate ID"),
        table_label=N_("Signing certificates, scrolls sideways"),
        already_active=N_("Certificate %(id)s is already active."),
        already_inactive=N_("Certificate %(id)s is already inactive."),
        now_active=N_("Certificate %(id)s is now active."), now_inactive=N_("Certificate %(id)s is now inactive."),
        deleted=N_("Certificate %(id)s is deleted."), already_deleted=N_("Certificate %(id)s is already deleted."),
        delete_title=N_("Delete signing certificate"), delete_heading=N_("Delete signing certificate %(key)s?"),
        delete_effect=N_("AWS services that check requests signed with certificate <code>%(key)s</code> refuse "
                         "them at once. Deleting cannot be undone."),
        lost_delete_done=N_("AWS did delete certificate %(id)s on your last attempt, although its answer was "
                            "lost."),
        lost_delete_not_done=N_("Your last attempt did not delete certificate %(id)s. It still works."),
        lost_upload_done=N_("Your last upload did reach AWS: certificate %(id)s is uploaded."),
        lost_upload_not_done=N_("Your last upload did not reach AWS: no certificate was added. Upload it again.")),
    uploader=signing_certs.upload, uploaded_action=Action.SIGNING_CERT_UPLOADED)

"""SSH public keys for CodeCommit: check them as IAM does, list, upload (status and delete: kinds.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from .. import aws
from ..clock import aware
from ..errors import InvalidInput
from .refusals import refused

MAX_KEYS = 5  # AWS's quota of SSH public keys per IAM user
MIN_BITS = 2048
MAX_BODY = 16_384  # UploadSSHPublicKey's length limit
_PEM = "-----BEGIN PUBLIC KEY-----"
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_AWS_TEXT = re.compile(r"[\t\n\r\x20-\xff]+")  # publicKeyMaterialType's pattern in IAM's API model
_KEYGEN = "ssh-keygen -t rsa -b 4096 -f ~/.ssh/codecommit_rsa"


def _how() -> str:
    """The next step for a key IAM cannot take: make an RSA one."""
    return _("Make one with: %(command)s, then paste ~/.ssh/codecommit_rsa.pub.", command=_KEYGEN)


@dataclass(frozen=True)
class SshKey:
    """One uploaded SSH public key; its ID is the user name CodeCommit's SSH endpoint expects."""

    key_id: str
    status: str
    uploaded: datetime


def _clean(body: str) -> bool:
    """Tell whether the key's base64 is strict base64 and the rest is text UploadSSHPublicKey's pattern allows.

    The parsers skip what is not base64 (a NUL, a non-ASCII letter) inside the key data, so a damaged
    key would pass here and reach AWS as it was pasted.
    """
    if not _AWS_TEXT.fullmatch(body):
        return False
    if body.startswith(_PEM):
        inside = body.removeprefix(_PEM).split("-----END PUBLIC KEY-----", 1)[0]
        return all(_BASE64.fullmatch(line) for line in inside.split() if line)
    parts = body.split(None, 2)
    return len(parts) < 2 or bool(_BASE64.fullmatch(parts[1]))  # a missing part is the parser's to name


def check_body(text: str | None) -> str:
    """Return the key as IAM will take it (ssh-rsa or PEM, RSA of 2048 bits or more), or say what is wrong."""
    # Imported here: cryptography costs every worker ~7 MB, and only this check and the certificates' need it.
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key, load_ssh_public_key

    body = (text or "").strip()
    if not body.startswith(_PEM) and "\n" in body:
        # A terminal wraps the one line anywhere: join the pieces as they were before wrapping.
        body = "".join(line.strip() for line in body.splitlines())
        body = re.sub(r"^(ssh-rsa)(?=AAAA)", r"\1 ", body)
    if len(body) > MAX_BODY:
        raise InvalidInput(_("That is far too long for an SSH public key."), _("Paste the one line of your .pub file."))
    if (body.startswith("-----BEGIN") and not body.startswith(_PEM)) or "PRIVATE KEY" in body:
        raise InvalidInput(_("That is a private key. Never paste a private key anywhere."),
                           _("Paste the public half: the .pub file next to it."))
    kind = body.split(" ", 1)[0]
    if kind != "ssh-rsa" and not body.startswith(_PEM):
        said = (_("IAM accepts only RSA keys (ssh-rsa or PEM), not %(kind)s.", kind=kind) if kind
                else _("IAM accepts only RSA keys (ssh-rsa or PEM)."))
        raise InvalidInput(said, _how())
    if not _clean(body):
        raise InvalidInput(_("This SSH public key holds characters no key has (an invisible control character or a "
                             "letter outside the key's alphabet)."),
                           _("Copy the whole line again from the .pub file itself, not from a document or a chat."))
    try:
        key = load_pem_public_key(body.encode()) if body.startswith(_PEM) else load_ssh_public_key(body.encode())
    except (ValueError, TypeError):
        raise InvalidInput(_("This SSH public key is damaged: part of it is missing or changed."),
                           _("Copy the whole line of the .pub file again.")) from None
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_BITS:
        raise InvalidInput(_("IAM needs an RSA key of at least %(bits)d bits.", bits=MIN_BITS), _how())
    return body


def list_keys(iam: Any, user_name: str) -> list[SshKey]:
    """Return the user's SSH public keys, oldest first (ListSSHPublicKeys works before MFA too)."""
    rows = aws.call(iam, "ListSSHPublicKeys", UserName=user_name).get("SSHPublicKeys", [])
    return sorted((SshKey(r["SSHPublicKeyId"], r["Status"], aware(r["UploadDate"])) for r in rows),
                  key=lambda k: k.uploaded)


def upload(iam_with_mfa: Any, user_name: str, body: str) -> SshKey:
    """Upload a checked key; AWS refuses duplicates and a sixth key."""
    with refused(_("SSH public key"),
                 limit=_("AWS allows %(n)d SSH public keys per user and you have %(n)d.", n=MAX_KEYS),
                 bad_input=_("AWS did not accept this SSH public key (it may already be uploaded).")):
        made = aws.call(iam_with_mfa, "UploadSSHPublicKey", UserName=user_name, SSHPublicKeyBody=body)
    key = made["SSHPublicKey"]
    return SshKey(key["SSHPublicKeyId"], key["Status"], aware(key["UploadDate"]))




def ssh_config(key_id: str) -> str:
    """Return the ~/.ssh/config lines that make git use this key for CodeCommit."""
    return (f"Host git-codecommit.*.amazonaws.com\n"
            f"  User {key_id}\n"
            f"  IdentityFile ~/.ssh/codecommit_rsa\n")

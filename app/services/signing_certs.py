"""X.509 signing certificates: check a PEM, list, upload (status and delete: kinds.py); AWS allows two."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from .. import aws
from ..clock import aware
from ..errors import InvalidInput
from .refusals import refused

MAX_CERTS = 2  # AWS's quota of signing certificates per IAM user
MAX_BODY = 16_384  # UploadSigningCertificate's length limit


@dataclass(frozen=True)
class SigningCert:
    """One signing certificate as ListSigningCertificates shows it."""

    cert_id: str
    status: str
    uploaded: datetime


def check_pem(text: str | None) -> str:
    """Return a PEM certificate as IAM will take it, or say what is wrong before AWS is asked."""
    from cryptography import x509  # only here, as in ssh_keys.check_body: it costs every worker ~7 MB

    body = (text or "").strip()
    if "PRIVATE KEY" in body:
        raise InvalidInput(_("That is a private key. Never paste a private key anywhere."),
                           _("Paste the certificate: the block starting -----BEGIN CERTIFICATE-----."))
    if len(body) > MAX_BODY or not body.startswith("-----BEGIN CERTIFICATE-----"):
        raise InvalidInput(_("A signing certificate is one PEM block starting -----BEGIN CERTIFICATE-----."),
                           _("Paste the whole .pem or .crt file."))
    try:
        x509.load_pem_x509_certificate(body.encode())
    except ValueError:
        raise InvalidInput(_("This certificate is damaged: part of it is missing or changed."),
                           _("Copy the whole file again.")) from None
    return body


def list_certs(iam_with_mfa: Any, user_name: str) -> list[SigningCert]:
    """Return the user's signing certificates, oldest first."""
    rows = aws.call(iam_with_mfa, "ListSigningCertificates", UserName=user_name).get("Certificates", [])
    return sorted((SigningCert(r["CertificateId"], r["Status"], aware(r["UploadDate"])) for r in rows),
                  key=lambda c: c.uploaded)


def upload(iam_with_mfa: Any, user_name: str, body: str) -> SigningCert:
    """Upload a checked certificate; AWS refuses a duplicate and a third one."""
    with refused(_("signing certificate"), limit=_("AWS allows %(n)d signing certificates per user.", n=MAX_CERTS),
                 bad_input=_("AWS did not accept this certificate (it may already be uploaded, or have expired).")):
        made = aws.call(iam_with_mfa, "UploadSigningCertificate", UserName=user_name, CertificateBody=body)
    cert = made["Certificate"]
    return SigningCert(cert["CertificateId"], cert["Status"], aware(cert["UploadDate"]))


"""Helpers shared by the own-credentials tests: audit rows, AWS calls made to fail, keys, certificates, a token."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from app import aws
from app.demo.hardware import hardware_seed
from app.models import AuditEvent
from conftest import code

TOKEN = "GAHT12345678"


def audit_rows(app, action):
    """The audit outcomes recorded for an action, in order, with their details."""
    with app.app_context():
        return [(e.outcome, e.detail) for e in AuditEvent.query.filter_by(action=action).order_by(AuditEvent.id)]


def fail_call(monkeypatch, operation, error, after=False):
    """Make one AWS operation fail as the portal sees it; with `after`, fail only once AWS has acted."""
    real = aws.call

    def call(client, op, **params):
        if op != operation:
            return real(client, op, **params)
        if after:
            real(client, op, **params)
        raise error

    monkeypatch.setattr(aws, "call", call)


@functools.cache
def pem(n: int = 0) -> str:
    """A self-signed certificate in PEM (the n-th one)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"new.hire {n}")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@functools.cache
def rsa_public(bits: int = 2048, n: int = 0) -> str:
    """An OpenSSH public key line (the n-th of its size), as ssh-keygen writes it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode() + " me@laptop"


def add_token(client, typed=TOKEN, first=None, second=None):
    """Submit the hardware-token form with two consecutive codes from the token."""
    seed = hardware_seed(TOKEN)
    return client.post("/security/devices", data={"device": typed, "code1": first or code(seed, -1),
                                                   "code2": second or code(seed, 0)})


def uploaded(iam):
    """The user's SSH keys as AWS has them: {id: status}."""
    return {k["SSHPublicKeyId"]: k["Status"] for k in iam.list_ssh_public_keys(UserName="new.hire")["SSHPublicKeys"]}


def upload(client, body):
    """Submit the upload form."""
    return client.post("/security/ssh", data={"body": body})

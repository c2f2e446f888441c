"""Keep secrets in the server-side session, encrypted, never in the cookie."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app, session

_KEY = "vault"


def _fernet() -> Fernet:
    """Derive the vault key from SECRET_KEY, so a stolen session store alone yields nothing."""
    cached = current_app.extensions.get("mfa_portal_vault")
    if cached is None:
        raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"mfa-portal", info=b"session vault").derive(
            current_app.config["SECRET_KEY"].encode()
        )
        cached = current_app.extensions["mfa_portal_vault"] = Fernet(base64.urlsafe_b64encode(raw))
    return cached


def _load() -> dict[str, Any]:
    """Decrypt the whole vault, or return an empty one."""
    token = session.get(_KEY)
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except (InvalidToken, ValueError):
        # A rotated SECRET_KEY or tampered store: forget rather than fail.
        return {}


def _store(data: dict[str, Any]) -> None:
    """Encrypt and write back the whole vault."""
    if data:
        session[_KEY] = _fernet().encrypt(json.dumps(data).encode()).decode()
    else:
        session.pop(_KEY, None)


def put(**items: Any) -> None:
    """Store secrets under the given names."""
    data = _load()
    data.update(items)
    _store(data)


def get(name: str, default: Any = None) -> Any:
    """Read one secret."""
    return _load().get(name, default)


def drop(*names: str) -> None:
    """Forget the named secrets."""
    data = _load()
    for name in names:
        data.pop(name, None)
    _store(data)

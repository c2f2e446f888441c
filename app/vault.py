"""The session vault: secrets are kept in the session store only sealed, each under a name of its own."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from nacl.encoding import URLSafeBase64Encoder
from nacl.exceptions import CryptoError
from nacl.secret import SecretBox

# Each secret is sealed under its own key name, so a request that changes one never rewrites another.
_SEALED = "sealed:"


def sealed_name(name: str) -> str:
    """The store key a sealed value is kept under."""
    return _SEALED + name


def sealed_values(entry: dict[str, Any] | None) -> dict[str, str]:
    """The sealed values of a stored session by name, as they lie in the store (ciphertext)."""
    return {key.removeprefix(_SEALED): value for key, value in (entry or {}).items() if key.startswith(_SEALED)}


class Sealer:
    """Authenticated encryption under a key derived from SECRET_KEY, so a stolen session store alone yields nothing.

    PyNaCl's SecretBox (XSalsa20-Poly1305, a random nonce per value): the same guarantees as Fernet for
    a sixth of the memory (cryptography's Fernet cost every worker ~7 MB, PyNaCl ~1 MB).
    """

    def __init__(self, secret_key: str):
        # BLAKE2b keyed with the secret is the key derivation (how libsodium's own crypto_kdf works):
        # a key for this one purpose, never the SECRET_KEY itself.
        master = hashlib.blake2b(secret_key.encode(), digest_size=64).digest()
        key = hashlib.blake2b(b"session vault", key=master, person=b"mfa-portal", digest_size=SecretBox.KEY_SIZE)
        self.box = SecretBox(key.digest())

    def seal(self, value: Any) -> str:
        """Encrypt a JSON-ready value."""
        return self.box.encrypt(json.dumps(value).encode(), encoder=URLSafeBase64Encoder).decode()

    def unseal(self, token: str | None) -> Any:
        """Decrypt, or None for a rotated SECRET_KEY or a tampered store (forget rather than fail)."""
        if not token:
            return None
        try:
            return json.loads(self.box.decrypt(token.encode(), encoder=URLSafeBase64Encoder))
        except (CryptoError, ValueError, TypeError):
            return None

    def open_entry(self, entry: dict[str, Any] | None) -> dict[str, Any]:
        """Open every sealed value of a stored session this key can open, by name (what only the portal can read)."""
        opened = {name: self.unseal(token) for name, token in sealed_values(entry).items()}
        return {name: value for name, value in opened.items() if value is not None}

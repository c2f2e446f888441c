"""Demo hardware TOTP tokens: any serial GAHT + 8 digits exists, with a seed derived from the serial."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading

_lock = threading.Lock()  # one token object per serial, even when requests ask in parallel


class HardwareToken:
    """A demo hardware TOTP token: any GAHT serial exists, with a seed derived from it (shaped like moto's device)."""

    def __init__(self, serial: str):
        """Derive the token's seed, so the demo's terminal authenticator can show its codes too."""
        self.serial_number = serial
        self.base32_string_seed = hardware_seed(serial)


_DEMO_SERIAL = re.compile(r"^GAHT[0-9]{8}$")
_tokens: dict[str, HardwareToken] = {}


def hardware_seed(serial: str) -> str:
    """Return the base32 seed of the demo token with this serial."""
    digest = hmac.new(b"mfa-portal demo hardware token", serial.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:20]).decode()


def hardware_token(serial: str | None) -> HardwareToken | None:
    """Return the demo hardware token with this serial (the same object each time, so used codes stick)."""
    if not serial or not _DEMO_SERIAL.match(serial):
        return None
    with _lock:
        return _tokens.setdefault(serial, HardwareToken(serial))

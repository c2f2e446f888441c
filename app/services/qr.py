"""Provisioning: the otpauth URI, its QR code and the manual-entry key."""

from __future__ import annotations

import io
from urllib.parse import quote, urlencode

import qrcode
from qrcode.image.pil import PilImage


def otpauth_uri(issuer: str, account_label: str, secret: str) -> str:
    """Build the key URI every authenticator app understands."""
    # Key URI Format: spaces as %20 (apps such as npm otpauth keep a "+" literally) and a literal ":"
    # between issuer and account, which some apps need to split the label.
    label = f"{quote(issuer, safe='')}:{quote(account_label, safe='@')}"
    query = urlencode({"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": 6, "period": 30},
                      quote_via=quote)
    return f"otpauth://totp/{label}?{query}"


def qr_png(uri: str) -> bytes:
    """Render the URI as a PNG QR code (AWS's own QRCodePNG is not used: emulators return noise)."""
    # A quiet zone of 4 modules, as the QR standard asks: phone cameras miss codes with less on dark pages.
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    code.add_data(uri)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(image_factory=PilImage).save(buffer, format="PNG")
    return buffer.getvalue()


def grouped(secret: str) -> str:
    """Split the seed into groups of four so it can be typed without losing the place."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))

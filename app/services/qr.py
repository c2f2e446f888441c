"""Provisioning: the otpauth URI, its QR code and the manual-entry key."""

from __future__ import annotations

import io
from urllib.parse import quote, urlencode

import qrcode
from qrcode.image.pil import PilImage


def otpauth_uri(issuer: str, account_label: str, secret: str) -> str:
    """Build the key URI every authenticator app understands."""
    label = quote(f"{issuer}:{account_label}", safe="@")
    query = urlencode({"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": 6, "period": 30})
    return f"otpauth://totp/{label}?{query}"


def qr_png(uri: str) -> bytes:
    """Render the URI as a PNG QR code (AWS's own QRCodePNG is not used: emulators return noise)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=2)
    code.add_data(uri)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(image_factory=PilImage).save(buffer, format="PNG")
    return buffer.getvalue()


def grouped(secret: str) -> str:
    """Split the seed into groups of four so it can be typed without losing the place."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))

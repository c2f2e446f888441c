"""Provisioning: the otpauth URI, its QR code (inline SVG) and the manual-entry key."""

from __future__ import annotations

from urllib.parse import quote, urlencode

import segno
from markupsafe import Markup

QUIET_ZONE = 4  # modules of light border around the code


def otpauth_uri(issuer: str, account_label: str, secret: str) -> str:
    """Build the key URI every authenticator app understands."""
    # Key URI Format: spaces as %20 (apps such as npm otpauth keep a "+" literally) and a literal ":"
    # between issuer and account, which some apps need to split the label.
    label = f"{quote(issuer, safe='')}:{quote(account_label, safe='@')}"
    query = urlencode({"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": 6, "period": 30},
                      quote_via=quote)
    return f"otpauth://totp/{label}?{query}"


def qr_svg(uri: str) -> Markup:
    """Render the URI as an inline SVG QR code (AWS's own QRCodePNG is not used: emulators return noise)."""
    # A fixed mask skips the search over all eight (two thirds of the encoding's CPU); any mask is
    # valid, the search only picks the prettiest. Four modules of quiet zone, as the QR standard asks:
    # phone cameras miss codes with less on dark pages, hence the explicit white background too.
    code = segno.make_qr(uri, error="m", mask=0, boost_error=False)
    # Attributes only, no style= or <style>: the CSP's style-src 'self' would block them.
    svg = code.svg_inline(border=QUIET_ZONE, light="#fff", dark="#000", omitsize=True, svgclass="qr-code",
                          lineclass=None)
    # segno writes the whole markup; the URI only decides the path data, so nothing of it is echoed.
    return Markup(svg)  # noqa: S704  # nosec B704


def grouped(secret: str) -> str:
    """Split the seed into groups of four so it can be typed without losing the place."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))

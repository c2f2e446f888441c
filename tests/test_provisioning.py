"""The otpauth URI and QR code as authenticator apps read them."""

from __future__ import annotations

import io
from urllib.parse import parse_qs, unquote, urlsplit

from PIL import Image

from app.services import qr

SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_issuer_spaces_are_percent_encoded_and_the_label_keeps_a_literal_colon():
    uri = qr.otpauth_uri("demo-corp (demo)", "new.hire", SEED)
    parts = urlsplit(uri)
    assert "+" not in uri
    assert parts.path == "/demo-corp%20%28demo%29:new.hire"
    assert "issuer=demo-corp%20%28demo%29" in parts.query.split("&")
    assert unquote(parts.path) == "/demo-corp (demo):new.hire"
    assert parse_qs(parts.query)["secret"] == [SEED]


def test_a_colon_inside_the_issuer_cannot_split_the_label_in_the_wrong_place():
    parts = urlsplit(qr.otpauth_uri("acme:prod", "al+ice@example", SEED))
    assert parts.path.count(":") == 1 and parts.path == "/acme%3Aprod:al%2Bice@example"


def test_qr_code_has_a_quiet_zone_of_four_modules():
    image = Image.open(io.BytesIO(qr.qr_png(qr.otpauth_uri("acme", "new.hire", SEED)))).convert("L")
    width, height = image.size
    dark = [(x, y) for y in range(height) for x in range(width) if image.getpixel((x, y)) < 128]
    box = 8  # pixels per module
    assert min(x for x, _ in dark) == 4 * box and min(y for _, y in dark) == 4 * box
    assert width - 1 - max(x for x, _ in dark) == 4 * box and height - 1 - max(y for _, y in dark) == 4 * box

"""The otpauth URI and QR code as authenticator apps read them."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

import segno

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


def test_qr_code_has_a_quiet_zone_of_four_modules_on_white():
    svg = qr.qr_svg(qr.otpauth_uri("acme", "new.hire", SEED))
    size = int(re.match(r'<svg viewBox="0 0 (\d+) \1"', svg).group(1))
    background, modules = re.findall(r'<path ([^>]*)/>', svg)
    assert background == f'fill="#fff" d="M0 0h{size}v{size}h-{size}z"'
    # Dark modules are drawn as horizontal strokes through each row's middle: "M4 4.5h7m2 0h4...".
    moves = re.findall(r"([Mm])(-?\d+) (-?[\d.]+)|h(\d+)", re.search(r'd="([^"]+)"', modules).group(1))
    x = y = 0.0
    xs, ys = [], []
    for kind, dx, dy, run in moves:
        if run:
            xs += [x, x + int(run)]
            ys.append(y)
            x += int(run)
        else:
            x, y = (float(dx), float(dy)) if kind == "M" else (x + float(dx), y + float(dy))
    assert min(xs) == 4 and size - max(xs) == 4
    assert min(ys) == 4.5 and size - max(ys) == 4.5


def test_qr_code_uses_the_fixed_mask_and_no_inline_style():
    svg = qr.qr_svg(qr.otpauth_uri("acme", "new.hire", SEED))
    assert "style" not in svg and "<script" not in svg
    assert segno.make_qr(qr.otpauth_uri("acme", "new.hire", SEED), error="m", mask=0, boost_error=False).mask == 0

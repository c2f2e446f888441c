"""Take the README's screenshots: the real portal and the AWS emulator, walked in headless Chromium.

    .venv/bin/python -m tools.screenshots [--out docs/screenshots] [--chromium /usr/bin/chromium]

Writes sign-in.png, scan.png, credentials.png (1280x900), scan-mobile.png (390 px wide,
whole page) and scan-ja.png (the QR step for a browser set to Japanese; run
`make translations-compile` first). Every key, seed and token in them is a fake one the emulator made up.
With --review DIR it also shoots the other pages and error states there, for a design review.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import pyotp

from tools.live_portal import ROOT, live_portal

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", "--font-render-hinting=none"]
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "device_scale_factor": 1}
MOBILE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def _codes(seed: str) -> tuple[str, str, str]:
    """The codes of the previous, current and next step: enable with two, prove with the third."""
    step = int(time.time()) // 30
    totp = pyotp.TOTP(seed)
    return totp.generate_otp(step - 1), totp.generate_otp(step), totp.generate_otp(step + 1)


def _sign_in(page, user: dict, submit: bool = True) -> None:
    """Fill the sign-in form (and send it)."""
    page.goto("/login")
    page.get_by_label("Access key ID").fill(user["access_key_id"])
    page.get_by_label("Secret access key").fill(user["secret_access_key"])
    if submit:
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()


def _start(page) -> str:
    """Start enrolling; wait for the QR code (inline SVG, part of the page); return the setup key."""
    page.get_by_role("button", name="Set up my MFA device").click()
    page.locator(".scan-qr svg.qr-code").wait_for()
    return re.sub(r"\s+", "", page.locator("#manual-key").inner_text())


def take(out: Path, chromium: str, review: Path | None = None) -> list[Path]:
    """Start the servers, walk the flow, write the PNGs; return their paths."""
    from playwright.sync_api import sync_playwright

    for folder in (out, review):
        if folder:
            folder.mkdir(parents=True, exist_ok=True)
    shots = []
    with live_portal(seed_users=20) as portal, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        desktop = browser.new_context(base_url=portal.url, locale="en-US", **DESKTOP)
        page = desktop.new_page()
        user = portal.user("new.hire")

        _sign_in(page, user, submit=False)
        page.get_by_label("Secret access key").blur()
        shots.append(out / "sign-in.png")
        page.screenshot(path=shots[-1])

        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        if review:
            shots.append(review / "home-new-hire.png")
            page.screenshot(path=shots[-1], full_page=True)
        seed = _start(page)
        shots.append(out / "scan.png")
        page.screenshot(path=shots[-1])

        first, second, third = _codes(seed)
        if review:
            page.get_by_label("First code").fill(second)
            page.get_by_label("Next code").fill(second)
            page.get_by_role("button", name="Enable my device").click()
            shots.append(review / "scan-same-codes.png")
            page.screenshot(path=shots[-1], full_page=True)
        page.get_by_label("First code").fill(first)
        page.get_by_label("Next code").fill(second)
        page.get_by_role("button", name="Enable my device").click()
        if review:
            page.get_by_label("Code from your authenticator app").fill(second)
            page.get_by_role("button", name="Get credentials").click()
            shots.append(review / "prove-code-used.png")
            page.screenshot(path=shots[-1], full_page=True)
        page.get_by_label("Code from your authenticator app").fill(third)
        page.get_by_role("button", name="Get credentials").click()
        page.get_by_role("heading", name="Your session credentials").wait_for()
        shots.append(out / "credentials.png")
        page.screenshot(path=shots[-1])
        if review:
            page.get_by_role("tab", name="bash / zsh").click()
            shots.append(review / "credentials-bash.png")
            page.screenshot(path=shots[-1], full_page=True)
            page.get_by_role("link", name="My MFA").click()
            shots.append(review / "home-enrolled.png")
            page.screenshot(path=shots[-1], full_page=True)
            page.goto("/no-such-page")
            shots.append(review / "error-404.png")
            page.screenshot(path=shots[-1])
            page.get_by_role("button", name="Sign out").click()
            _sign_in(page, {"access_key_id": "AKIAZZZZZZZZZZZZZZZZ", "secret_access_key": "a" * 40})
            shots.append(review / "sign-in-rejected.png")
            page.screenshot(path=shots[-1])
        desktop.close()

        mobile = browser.new_context(base_url=portal.url, locale="en-US", **MOBILE)
        page = mobile.new_page()
        _sign_in(page, portal.first("new hire"))
        seed = _start(page)
        shots.append(out / "scan-mobile.png")
        page.screenshot(path=shots[-1], full_page=True)
        if review:
            first, second, third = _codes(seed)
            page.get_by_label("First code").fill(first)
            page.get_by_label("Next code").fill(second)
            page.get_by_role("button", name="Enable my device").click()
            shots.append(review / "prove-mobile.png")
            page.screenshot(path=shots[-1], full_page=True)
            page.get_by_label("Code from your authenticator app").fill(third)
            page.get_by_role("button", name="Get credentials").click()
            shots.append(review / "credentials-mobile.png")
            page.screenshot(path=shots[-1], full_page=True)
        mobile.close()
        shots += _japanese(browser, portal, out, review)
        browser.close()
    return shots


def _japanese(browser, portal, out: Path, review: Path | None) -> list[Path]:
    """Walk sign-in and the QR step as a browser that asks for Japanese (Accept-Language: ja-JP)."""
    shots = []
    for name, options, skip in (("desktop", DESKTOP, 1), ("mobile", MOBILE, 2)):
        if name == "mobile" and not review:
            break
        context = browser.new_context(base_url=portal.url, locale="ja-JP", **options)
        page = context.new_page()
        user = portal.first("new hire", skip=skip)
        page.goto("/login")
        page.get_by_label("アクセスキー ID").fill(user["access_key_id"])
        page.get_by_label("シークレットアクセスキー").fill(user["secret_access_key"])
        if review:
            shots.append(review / f"sign-in-ja-{name}.png")
            page.screenshot(path=shots[-1], full_page=True)
        page.get_by_role("button", name="サインイン").click()
        page.get_by_role("button", name="MFA デバイスを設定する").click()
        page.locator(".scan-qr svg.qr-code").wait_for()
        shots.append(out / "scan-ja.png" if name == "desktop" else review / "scan-ja-mobile.png")
        page.screenshot(path=shots[-1], full_page=name == "mobile")
        context.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and take the screenshots."""
    parser = argparse.ArgumentParser(prog="python -m tools.screenshots", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="a Chromium or Chrome executable")
    parser.add_argument("--review", type=Path, help="also shoot the other pages and error states into this folder")
    args = parser.parse_args(argv)
    if not Path(args.chromium).exists():
        print(f"No Chromium at {args.chromium}; install it (apt-get install chromium) or pass --chromium.",
              file=sys.stderr)
        return 2
    for path in take(args.out, args.chromium, args.review):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The new hire's two minutes, in a real browser: sign in, scan, two codes, one more, take the credentials."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_new_hire_enrolls_and_takes_credentials_away(visitor, page, portal):
    user = portal.user("new.hire")
    visitor.sign_in(user)
    expect(page.get_by_role("heading", name="Hello, new.hire")).to_be_visible()
    expect(page.get_by_role("heading", name="Set up your MFA device")).to_be_visible()  # the to-do item

    seed = visitor.start_enrollment()
    expect(page).to_have_title(re.compile("Scan the QR code"))
    expect(page.locator("[aria-current=step]")).to_contain_text("Scan the QR code")
    qr = page.get_by_role("img", name=re.compile("QR code"))
    expect(qr).to_have_attribute("aria-label", re.compile(r"QR code .*new\.hire at demo-corp"))
    # Drawn inline (no image request), at least 200 px wide on a desktop screen.
    assert qr.locator("svg.qr-code").bounding_box()["width"] >= 200
    assert re.fullmatch(r"[A-Z2-7]{32,}", seed), seed
    expect(page.locator("#manual-key")).to_have_text(re.compile(r"^([A-Z2-7]{4} )+[A-Z2-7]{1,4}$"))
    expect(page.locator(".countdown").first).to_have_text(re.compile(r"^\d{1,2}$"))
    page.get_by_role("button", name="Copy key").click()
    assert page.evaluate("navigator.clipboard.readText()") == seed  # without the spaces apps stumble on

    step = visitor.enable(seed)
    expect(page.get_by_role("status")).to_contain_text("Your MFA device is enabled")
    expect(page.get_by_role("heading", name="Prove it works")).to_be_visible()
    expect(page.locator("[aria-current=step]")).to_contain_text("Prove it works")

    # The next step's code: new to AWS, and inside its window right away.
    visitor.type_one_code(visitor.code(seed, step + 1), profile="acme-mfa")
    expect(page.get_by_role("heading", name="Your session credentials")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Enrollment is complete")
    assert user["secret_access_key"] not in page.content()

    # The INI block first; the shell tab on click.
    ini_panel, bash_panel = page.locator("#panel-ini"), page.locator("#panel-bash")
    expect(ini_panel).to_be_visible()
    expect(bash_panel).to_be_hidden()
    page.get_by_role("tab", name="bash / zsh").click()
    expect(page.get_by_role("tab", name="bash / zsh")).to_have_attribute("aria-selected", "true")
    expect(bash_panel).to_be_visible()
    expect(ini_panel).to_be_hidden()
    expect(bash_panel.locator("pre")).to_contain_text("export AWS_ACCESS_KEY_ID='ASIA")
    expect(bash_panel.locator("pre")).to_contain_text("export AWS_SESSION_TOKEN='")

    # Keyboard: arrows move between tabs and take the focus along (WAI-ARIA tabs).
    page.get_by_role("tab", name="bash / zsh").press("ArrowRight")
    fish = page.get_by_role("tab", name="fish")
    expect(fish).to_have_attribute("aria-selected", "true")
    expect(fish).to_be_focused()
    expect(page.locator("#panel-fish")).to_be_visible()
    expect(bash_panel).to_be_hidden()
    fish.press("End")
    expect(page.get_by_role("tab", name="credential_process JSON")).to_be_focused()
    expect(page.locator("#panel-credential_process")).to_be_visible()
    page.get_by_role("tab", name="credential_process JSON").press("Home")
    expect(page.get_by_role("tab", name="~/.aws/credentials")).to_be_focused()
    page.get_by_role("tab", name="~/.aws/credentials").press("ArrowLeft")  # wraps round to the last tab
    expect(page.get_by_role("tab", name="credential_process JSON")).to_have_attribute("aria-selected", "true")
    page.get_by_role("tab", name="bash / zsh").click()
    expect(bash_panel).to_be_visible()

    # Copy puts exactly the snippet on the clipboard.
    expect(bash_panel.get_by_role("button", name="Copy", exact=True)).to_be_visible()
    copy = bash_panel.locator("button[data-copy-target]")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == bash_panel.locator("pre").inner_text()

    # The file to download is a credentials file the AWS CLI reads.
    page.get_by_role("tab", name="~/.aws/credentials").click()
    with page.expect_download() as download_info:
        ini_panel.get_by_role("link", name="Download as a file").click()
    download = download_info.value
    assert download.suggested_filename == "credentials-acme-mfa"
    parser = configparser.ConfigParser()
    parser.read_string(Path(download.path()).read_text(encoding="utf-8"))
    assert parser.sections() == ["acme-mfa"]
    section = parser["acme-mfa"]
    assert section["aws_access_key_id"].startswith("ASIA")
    assert len(section["aws_secret_access_key"]) == 40
    assert len(section["aws_session_token"]) > 100
    assert section["aws_access_key_id"] != user["access_key_id"]

    # Home now says MFA is set up and offers the credentials again.
    page.get_by_role("link", name="My MFA").click()
    expect(page.get_by_role("heading", name="MFA is set up")).to_be_visible()
    expect(page.get_by_role("link", name="Show my current credentials")).to_be_visible()


def test_abandoned_device_is_replaced_without_the_person_noticing(visitor, page, portal):
    user = portal.user("stale.device")
    visitor.sign_in(user)
    # The unfinished device from an earlier attempt is not the person's problem.
    expect(page.get_by_role("heading", name="Set up your MFA device")).to_be_visible()  # the to-do item
    seed = visitor.start_enrollment()
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    assert seed != user["mfa_seed"], "the scan page must show a new device, not the abandoned one"
    expect(page.get_by_role("alert")).to_have_count(0)

    step = visitor.enable(seed)
    expect(page.get_by_role("heading", name="Prove it works")).to_be_visible()
    visitor.type_one_code(visitor.code(seed, step + 1))
    expect(page.get_by_role("heading", name="Your session credentials")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)

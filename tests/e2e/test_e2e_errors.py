"""Mistakes people make, and the words the portal answers with, in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_keys_aws_does_not_know_read_well(visitor, page):
    visitor.sign_in(key_id="AKIAZZZZZZZZZZZZZZZZ", secret="a" * 40)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("AWS did not accept these keys")
    expect(alert).to_contain_text("does not recognise this access key pair")
    expect(alert).to_contain_text("Next step: Check both values for typos")
    # The key ID stays for correcting; the secret is never sent back to the browser.
    expect(page.get_by_label("Access key ID")).to_have_value("AKIAZZZZZZZZZZZZZZZZ")
    expect(page.get_by_label("Secret access key")).to_have_value("")
    assert "a" * 40 not in page.content()


def test_malformed_keys_are_explained_before_aws_is_asked(visitor, page):
    visitor.sign_in(key_id="arn:aws:iam::123456789012:user/me", secret="short")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Please check what you typed")
    expect(alert).to_contain_text("An access key ID is 20 capital letters and digits, starting with AKIA.")
    expect(page.get_by_label("Access key ID")).to_be_visible()


def test_code_mistakes_during_enrollment_read_well(visitor, page, portal):
    visitor.sign_in(portal.first("new hire"))
    seed = visitor.start_enrollment()
    step = visitor.step_now()

    visitor.type_two_codes(visitor.code(seed, step), visitor.code(seed, step))
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Please check what you typed")
    expect(alert).to_contain_text("The two codes are the same. AWS needs two codes in a row")
    expect(alert).to_contain_text("wait until it changes, then type the new one")
    expect(alert).to_be_in_viewport()  # below the QR code, so the page scrolls it into view
    # Still on the scan page, QR code and all, so the person can simply try again.
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()

    visitor.type_two_codes("123456", "654321")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("That code was not accepted")
    expect(alert).to_contain_text("AWS did not accept those two codes for this device.")

    step = visitor.enable(seed)
    expect(page.get_by_role("heading", name="Prove it works")).to_be_visible()

    # The code just typed to enable the device: AWS would refuse it, the portal says why first.
    visitor.type_one_code(visitor.code(seed, step))
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("That code was already used")
    expect(alert).to_contain_text("AWS refuses a code that was already used")
    expect(alert).to_contain_text(re.compile(r"Wait for the next code \(about \d{1,2} seconds?\)"))
    expect(page.get_by_label("Code from your authenticator app")).to_be_visible()

    visitor.type_one_code(visitor.code(seed, step + 1))
    expect(page.get_by_role("heading", name="Your session credentials")).to_be_visible()


def test_wrong_code_points_an_enrolled_user_to_resync(visitor, page, portal):
    user = portal.first("enrolled")
    visitor.sign_in(user)
    page.get_by_role("link", name="Get session credentials").first.click()
    visitor.type_one_code("000000" if visitor.code(user["mfa_seed"], visitor.step_now()) != "000000" else "111111")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("That code was not accepted")
    expect(alert).to_contain_text("AWS did not accept this code for your MFA device.")
    expect(page.get_by_role("link", name="Resync your device")).to_be_visible()

    visitor.type_one_code(visitor.code(user["mfa_seed"], visitor.step_now()))
    expect(page.get_by_role("heading", name="Your session credentials")).to_be_visible()


def test_unknown_pages_and_signed_out_visits_read_well(page, portal):
    response = page.goto("/no-such-page")
    assert response.status == 404
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.get_by_role("heading", name="There is no page here")).to_be_visible()
    expect(page.get_by_text("Next step: Check the address")).to_be_visible()
    page.get_by_role("link", name="Back to the start").click()
    expect(page.get_by_role("heading", name="Set up MFA and get AWS credentials")).to_be_visible()

    page.goto("/credentials")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("status")).to_contain_text("Please sign in with your access key pair first.")


def test_a_stale_sign_in_form_is_refused_in_plain_words(visitor, page, portal):
    page.goto("/login", wait_until="networkidle")  # the favicon's response, too, would set the cookie again
    page.context.clear_cookies()  # as if the session had expired while the form stood open
    user = portal.first("new hire", skip=1)
    page.get_by_label("Access key ID").fill(user["access_key_id"])
    page.get_by_label("Secret access key").fill(user["secret_access_key"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="This form has expired")).to_be_visible()
    expect(page.get_by_text("Next step: Reload the page and submit the form again.")).to_be_visible()

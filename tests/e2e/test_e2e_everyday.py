"""The everyday user: already enrolled, one code, fresh session credentials."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_enrolled_user_gets_credentials_with_one_code(visitor, page, portal):
    user = portal.user("enrolled.user")
    visitor.sign_in(user)
    expect(page.get_by_role("heading", name="MFA is set up")).to_be_visible()
    expect(page.get_by_role("cell", name="enrolled.user")).to_be_visible()
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)

    page.get_by_role("link", name="Get session credentials").first.click()
    expect(page.get_by_role("heading", name="Get session credentials")).to_be_visible()
    expect(page.get_by_role("list", name="Setup progress")).to_have_count(0)
    visitor.type_one_code(visitor.code(user["mfa_seed"], visitor.step_now()), duration="1 hour")

    expect(page.get_by_role("heading", name="Your session credentials")).to_be_visible()
    # A number and its unit are joined by a no-break space, so a phone never splits them.
    expect(page.locator(".expiry")).to_contain_text(re.compile(r"\((59\u00a0minutes|1\u00a0hour) from now\)"))
    expect(page.locator("#panel-ini pre")).to_contain_text("[default]")
    expect(page.locator("#panel-ini pre")).to_contain_text("aws_session_token = ")
    assert user["secret_access_key"] not in page.content()

    # Sign out: the portal forgets everything and says so.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("You are signed out")
    page.goto("/credentials/result")
    expect(page).to_have_url(re.compile(r"/login"))

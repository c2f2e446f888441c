"""Findings in the browser: an admin follows a finding's count and sees exactly the users AWS says have it."""

from __future__ import annotations

import re

import boto3
import pytest
from playwright.sync_api import expect

from .steps import ADMIN_STEPS, fresh_step

pytestmark = pytest.mark.e2e


def users_without_mfa(portal, admin: dict) -> set[str]:
    """Ask the emulator directly, one ListMFADevices per user (what IAM.19 judges), apart from the portal."""
    iam = boto3.client("iam", endpoint_url=portal.endpoint_url, region_name="us-east-1",
                       aws_access_key_id=admin["access_key_id"], aws_secret_access_key=admin["secret_access_key"])
    names = [u["UserName"] for page in iam.get_paginator("list_users").paginate() for u in page["Users"]]
    return {name for name in names if not iam.list_mfa_devices(UserName=name)["MFADevices"]}


def listed_users(page) -> list[str]:
    """Read the user table on every page of the current filter."""
    names = []
    while True:
        names += page.locator("table.admin-users tbody td:first-child a").all_inner_texts()
        following = page.locator("a[rel=next]")
        if following.count() == 0:
            return names
        following.first.click()
        page.wait_for_load_state()


def test_admin_follows_a_finding_to_exactly_its_users(visitor, page, portal):
    admin = portal.user("admin")
    visitor.sign_in(admin)
    page.goto("/credentials")
    visitor.type_one_code(visitor.code(admin["mfa_seed"], fresh_step(ADMIN_STEPS)))
    page.goto("/admin/")
    page.locator("form.admin-refresh button").click()
    page.wait_for_load_state()
    expected = users_without_mfa(portal, admin)
    assert expected  # the seeded account has new hires and abandoned enrollments

    link = page.locator('#findings a[data-control="IAM.19"]')
    expect(link).to_contain_text("No MFA device")
    count = int(re.sub(r"\D", "", link.locator(".finding-count").inner_text()))
    assert count == len(expected)
    link.click()
    page.wait_for_load_state()
    assert "finding=IAM.19" in page.url
    expect(page.locator(".table-head")).to_contain_text("Finding: IAM.19")  # each filter as a label and its value
    expect(page.locator('#findings li.current a[data-control="IAM.19"]')).to_have_attribute("aria-current", "true")
    assert sorted(listed_users(page)) == sorted(expected)

    # The filter keeps working with search: narrowed to the seeded new hire, the only "new." among them.
    page.goto("/admin/?finding=IAM.19&q=new.")
    assert listed_users(page) == sorted(name for name in expected if "new." in name)

"""The to-do list in the browser: a person with an old key sees the item and clears it by rotating."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

KEY_AGE_DAYS = 90  # FINDINGS_KEY_AGE_DAYS's default, which the live portal runs with


def key_created(portal, user: dict) -> datetime:
    """When the user's key was made, as the emulator has it (ListAccessKeys with the user's own key)."""
    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=portal.endpoint_url,
                       aws_access_key_id=user["access_key_id"], aws_secret_access_key=user["secret_access_key"])
    return iam.list_access_keys(UserName=user["name"])["AccessKeyMetadata"][0]["CreateDate"]


def with_old_key(portal) -> dict:
    """An enrolled person no other browser test signs in as, whose key is more than 90 days old.

    The emulator runs in its own process, so its seed did the backdating (app/demo/seed.py dates each
    generated key at its user's creation, months before the device): the test finds such a person.
    """
    limit = datetime.now(UTC) - timedelta(days=KEY_AGE_DAYS + 1)
    for skip in range(5, 40):  # 0 and 3 belong to the errors and rotation tests
        user = portal.first("enrolled", skip=skip)
        if key_created(portal, user) < limit:
            return user
    raise AssertionError("the seeded account has no enrolled person with a key older than 90 days")


def test_an_old_key_is_on_the_home_page_until_rotated(visitor, page, portal):
    user = with_old_key(portal)
    visitor.sign_in(user)
    item = page.locator("li.todo-item[data-kind=rotate-key]")
    expect(item).to_have_count(1)
    expect(item.get_by_role("heading", level=3)).to_contain_text(user["access_key_id"])
    expect(item).to_contain_text("Controls: IAM.3")
    expect(page.get_by_role("heading", name="Your to-do list")).to_be_visible()

    item.get_by_role("link", name="Rotate my access key").click()
    # Rotating the key signed in with is one of the most destructive changes: a code typed on its own page.
    expect(page.get_by_role("heading", name="Rotate my access key")).to_be_visible()
    page.get_by_label("Code from your authenticator app").fill(visitor.code(user["mfa_seed"], visitor.step_now()))
    page.get_by_role("button", name="Create my new key").click()
    expect(page.get_by_role("heading", name="Your new access key")).to_be_visible()
    new_id = page.locator("#new-key-id").inner_text()
    page.get_by_role("button", name="I have saved it: deactivate the old key").click()

    # The rotation ends on the home page's list, and the item is gone.
    expect(page).to_have_url(portal.url + "/")
    expect(page.get_by_text("Your old key is now inactive")).to_be_visible()
    expect(page.locator("li.todo-item")).to_have_count(0)
    expect(page.get_by_text("Nothing to do")).to_be_visible()
    assert new_id != user["access_key_id"]

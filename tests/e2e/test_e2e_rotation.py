"""Rotation in the browser: the new key shown once, downloaded as a profile, and working in botocore."""

from __future__ import annotations

import configparser
import re
import time

import boto3
import pytest
from botocore.exceptions import ClientError
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_rotation_ends_with_a_working_long_term_profile(visitor, page, portal, tmp_path):
    user = portal.first("enrolled", skip=3)
    visitor.sign_in(user)
    page.get_by_role("link", name="Get session credentials").first.click()
    visitor.type_one_code(visitor.code(user["mfa_seed"], visitor.step_now()))
    expect(page.get_by_role("heading", name="Your session credentials")).to_be_visible()

    page.goto("/security/keys")
    expect(page.get_by_text("this portal session")).to_be_visible()
    page.get_by_role("link", name="Rotate").first.click()
    page.get_by_label("Profile name for the new key").fill("rotated")
    # One of the most destructive changes: a code typed right here, the one typed a moment ago does not count.
    rotated_with = visitor.step_now() + 1
    page.get_by_label("Code from your authenticator app").fill(visitor.code(user["mfa_seed"], rotated_with))
    page.get_by_role("button", name="Create my new key").click()
    expect(page.get_by_role("heading", name="Your new access key")).to_be_visible()
    new_id = page.locator("#new-key-id").inner_text()
    assert new_id != user["access_key_id"] and page.locator("#new-key-secret").inner_text()

    with page.expect_download() as fetched:
        page.get_by_role("link", name="Download the ~/.aws/credentials block").click()
    saved = tmp_path / "credentials"
    fetched.value.save_as(saved)
    with page.expect_download() as fetched_csv:
        page.get_by_role("link", name=re.compile("Download as CSV")).click()
    csv_lines = fetched_csv.value.path().read_text().splitlines()
    assert csv_lines[0] == "Access key ID,Secret access key" and csv_lines[1].startswith(new_id + ",")

    page.get_by_role("button", name="I have saved it: deactivate the old key").click()
    expect(page.get_by_text("Your old key is now inactive")).to_be_visible()  # on the home page's to-do list
    page.reload()  # the secret is never shown again
    page.goto("/security/keys/new")
    expect(page.get_by_text("shown only once")).to_be_visible()

    profile = configparser.ConfigParser()
    profile.read(saved)
    assert profile["rotated"]["aws_access_key_id"] == new_id
    session = boto3.session.Session(aws_access_key_id=profile["rotated"]["aws_access_key_id"],
                                    aws_secret_access_key=profile["rotated"]["aws_secret_access_key"],
                                    region_name="us-east-1")
    sts = session.client("sts", endpoint_url=portal.endpoint_url)
    assert sts.get_caller_identity()["Arn"].endswith(f":user/{user['name']}")
    serial = f"arn:aws:iam::{sts.get_caller_identity()['Account']}:mfa/{user['name']}"
    while visitor.step_now() + 1 <= rotated_with:  # AWS takes no code twice, nor one older than the last
        time.sleep(1)
    creds = sts.get_session_token(SerialNumber=serial, TokenCode=visitor.code(user["mfa_seed"], visitor.step_now() + 1),
                                  DurationSeconds=900)["Credentials"]
    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=portal.endpoint_url,
                       aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                       aws_session_token=creds["SessionToken"])
    statuses = {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=user["name"])["AccessKeyMetadata"]}
    assert statuses == {user["access_key_id"]: "Inactive", new_id: "Active"}
    old = boto3.client("sts", region_name="us-east-1", endpoint_url=portal.endpoint_url,
                       aws_access_key_id=user["access_key_id"], aws_secret_access_key=user["secret_access_key"])
    with pytest.raises(ClientError):
        old.get_caller_identity()  # the handed-over key no longer works

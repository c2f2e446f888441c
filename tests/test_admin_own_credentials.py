"""The admin's user page shows the user's access keys (age, status) and console-password state, live from AWS."""

from __future__ import annotations

from datetime import timedelta

import pytest
from admin_helpers import ADMIN, with_mfa
from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.models import iam_backends

from app import aws
from app.policy import Call, Principal, check_calls, load_policy

pytest_plugins = ["admin_fixtures"]


@pytest.fixture
def admin(lite_app, iam, make_user):
    """An admin with an MFA session."""
    return with_mfa(lite_app, iam, make_user(ADMIN))


def test_keys_and_console_password_are_shown(admin, iam, make_user, aws_calls):
    user = make_user("keyholder")
    iam_backends[DEFAULT_ACCOUNT_ID]["aws"].access_keys[user.access_key_id].create_date -= timedelta(days=200)
    second = iam.create_access_key(UserName="keyholder")["AccessKey"]["AccessKeyId"]
    iam.update_access_key(UserName="keyholder", AccessKeyId=second, Status="Inactive")
    iam.create_login_profile(UserName="keyholder", Password="Some-Pass-123")
    html = admin.client.get("/admin/users/keyholder").get_data(as_text=True)
    table = html.split('id="user-keys"', 1)[1].split("</table>", 1)[0]
    assert user.access_key_id in table and second in table and "Inactive" in table
    assert "200 days" in table and "older than 90 days" in table
    assert '<dd id="console-password">yes</dd>' in html
    admin_policy = load_policy("admin")
    who = Principal(partition="aws", account="123456789012", user_name=ADMIN, mfa_present=True)
    made = [Call(s, o, p) for s, o, p, mfa in aws_calls if o in {"ListAccessKeys", "GetLoginProfile"}]
    assert {c.operation for c in made} == {"ListAccessKeys", "GetLoginProfile"}
    assert check_calls(admin_policy, made, who) == []


def test_no_password_and_no_keys_say_so(admin, iam):
    iam.create_user(UserName="bare")
    html = admin.client.get("/admin/users/bare").get_data(as_text=True)
    assert '<dd id="console-password">no</dd>' in html and "No access keys." in html


def test_a_denied_login_profile_read_is_no_error(admin, make_user, monkeypatch):
    make_user("quiet")
    real = aws.call

    def call(client, op, **params):
        if op == "GetLoginProfile":
            raise aws.AwsAccessDenied("iam:GetLoginProfile")
        return real(client, op, **params)

    monkeypatch.setattr(aws, "call", call)
    page = admin.client.get("/admin/users/quiet")
    assert page.status_code == 200 and '<dd id="console-password">AWS did not say</dd>' in page.get_data(as_text=True)

"""Console password: the account's rules beside the field, set, change, remove, and every refusal."""

from __future__ import annotations

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.models import iam_backends
from own_helpers import audit_rows, fail_call
from pages import assert_page

import conftest
from app import aws

GOOD = "Correct-Horse-42"


@pytest.fixture
def enrolled(person):
    """A new hire who just enrolled: MFA session in hand, a code accepted seconds ago."""
    person.enroll_fully()
    return person


def stored_password(name="new.hire"):
    """The password the emulator holds for the user (AWS's side of the login profile)."""
    return iam_backends[DEFAULT_ACCOUNT_ID]["aws"].users[name].password


def set_password(client, new, confirm=None):
    """Submit the first-password form."""
    return client.post("/security/password", data={"new": new, "confirm": confirm or new})


def test_set_a_first_password_and_see_where_to_sign_in(app, client, enrolled):
    page = client.get("/security/password").get_data(as_text=True)
    assert "You have no console password yet" in page and "three of: capital letters" in page
    assert 'autocomplete="new-password"' in page
    done = set_password(client, GOOD)
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and "https://acme-test.signin.aws.amazon.com/console" in text
    assert "<code>new.hire</code>" in text and GOOD not in text
    assert stored_password() == GOOD
    assert [o for o, _ in audit_rows(app, "console_password_set")] == ["attempt", "success"]


@pytest.mark.parametrize("new, confirm, words", [
    ("short1A", None, "At least 8 characters"),
    ("alllowercaseletters", None, "three of"),
    (GOOD, GOOD + "x", "The two passwords differ."),
    ("new.hire", None, "Not your user name"),
])
def test_bad_passwords_are_refused_before_aws(client, enrolled, new, confirm, words):
    refused = set_password(client, new, confirm)
    assert refused.status_code == 400 and words in refused.get_data(as_text=True)
    assert stored_password() is None


def test_change_checks_the_current_password(app, client, enrolled):
    set_password(client, GOOD)
    page = client.get("/security/password").get_data(as_text=True)
    assert "Change my console password" in page and 'autocomplete="current-password"' in page
    wrong = client.post("/security/password", data={"current": "Not-It-123", "new": "Another-Pass-7",
                                                    "confirm": "Another-Pass-7"})
    assert wrong.status_code == 400 and "current password is wrong" in wrong.get_data(as_text=True)
    assert stored_password() == GOOD
    done = client.post("/security/password", data={"current": GOOD, "new": "Another-Pass-7",
                                                   "confirm": "Another-Pass-7"})
    assert_page(done, 200, "Your console password is changed")
    assert stored_password() == "Another-Pass-7"
    assert [o for o, _ in audit_rows(app, "console_password_changed")] == ["attempt", "failure", "attempt", "success"]


def test_the_account_policy_is_shown_checked_and_its_refusal_explained(client, enrolled, iam):
    iam.update_account_password_policy(MinimumPasswordLength=12, RequireSymbols=True, PasswordReusePrevention=3)
    page = client.get("/security/password").get_data(as_text=True)
    assert "At least 12 characters" in page and "Not one of your last 3 passwords." in page
    refused = set_password(client, "NoSymbolsHere123")
    assert refused.status_code == 400 and "At least one symbol" in refused.get_data(as_text=True)
    set_password(client, "First-Password-1")
    client.post("/security/password", data={"current": "First-Password-1", "new": "Second-Password-2",
                                            "confirm": "Second-Password-2"})
    reused = client.post("/security/password", data={"current": "Second-Password-2", "new": "First-Password-1",
                                                     "confirm": "First-Password-1"})
    assert reused.status_code == 400 and "one of your last 3 passwords" in reused.get_data(as_text=True)
    assert stored_password() == "Second-Password-2"


@pytest.mark.parametrize("code, words", [
    ("EntityTemporarilyUnmodifiable", "AWS is still applying an earlier change"),
    ("LimitExceeded", "refused several password attempts"),
    ("PasswordPolicyViolation", "refused the new password under the account"),
])
def test_aws_refusals_become_plain_words(client, enrolled, monkeypatch, code, words):
    fail_call(monkeypatch, "CreateLoginProfile", aws.AwsError(code, "", "CreateLoginProfile"))
    refused = set_password(client, GOOD)
    assert refused.status_code in (400, 409) and words in refused.get_data(as_text=True)


def test_remove_console_access_after_confirming(app, client, enrolled):
    set_password(client, GOOD)
    confirm = client.get("/security/password/remove").get_data(as_text=True)
    assert "You will no longer be able to sign in" in confirm
    client.post("/security/password/remove")
    assert stored_password() is None
    assert "You have no console password yet" in client.get("/security/password").get_data(as_text=True)
    assert [o for o, _ in audit_rows(app, "console_password_removed")] == ["attempt", "success"]


def test_a_password_change_needs_a_recent_code(client, enrolled, clock):
    clock.advance(11)
    asked = set_password(client, GOOD)
    assert asked.status_code == 302
    assert asked.location.endswith("/credentials/code?next=/security/password&why=recent")
    assert stored_password() is None
    # A code page of its own that says what the code unlocks, without the session-credentials fields.
    page = client.get(asked.location).get_data(as_text=True)
    assert "Your code unlocks setting or changing your console password." in page
    assert "need a code accepted in the last 5 minutes" in page
    assert 'name="duration"' not in page and 'name="profile"' not in page
    back = client.post(asked.location, data={"device": "arn:aws:iam::123456789012:mfa/new.hire",
                                             "code": conftest.code(enrolled.seed, 1)})
    assert back.status_code == 302 and back.location == "/security/password"


@pytest.mark.parametrize("partition, url", [
    ("aws", "https://123456789012.signin.aws.amazon.com/console"),
    ("aws-cn", "https://123456789012.signin.amazonaws.cn/console"),
    ("aws-us-gov", "https://123456789012.signin.amazonaws-us-gov.com/console")])
def test_the_sign_in_address_is_the_one_of_the_callers_partition(partition, url):
    from app.services import login_profile

    assert login_profile.sign_in_url(None, "123456789012", partition) == url
    assert login_profile.sign_in_url("acme", "123456789012", partition) == url.replace("123456789012", "acme")


def test_switch_role_links_go_to_the_roles_partition():
    from app.profiles import Role
    from app.services.cli_profiles import switch_role_url

    assert switch_role_url(Role("ops", "arn:aws-cn:iam::111122223333:role/ops")).startswith(
        "https://signin.amazonaws.cn/switchrole?")
    assert switch_role_url(Role("ops", "arn:aws:iam::111122223333:role/ops")).startswith(
        "https://signin.aws.amazon.com/switchrole?")


def test_a_japanese_reader_gets_the_form_its_rules_and_refusals_in_japanese(client, enrolled):
    japanese = {"Accept-Language": "ja"}
    page = client.get("/security/password", headers=japanese).get_data(as_text=True)
    assert "新しいパスワード" in page and "大文字・小文字・数字・記号" in page and "New password" not in page
    refused = client.post("/security/password", data={"new": "short1A", "confirm": "short1B"}, headers=japanese)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "8\u00a0文字以上" in text and "2\u00a0つのパスワードが一致しません。" in text
    pasted = client.post("/security/ssh", data={"body": "-----BEGIN OPENSSH PRIVATE KEY-----\nabc"},
                         headers=japanese).get_data(as_text=True)
    assert "秘密鍵はどこにも貼り付けないでください。公開鍵の方" in pasted and "private key" not in pasted
    assert stored_password() is None

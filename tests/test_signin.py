"""Sign-in: key shapes checked locally, identities checked by AWS, sessions fresh and forgotten."""

import re

import pytest
from pages import assert_redirect

from app.errors import InvalidInput, KeysRefused
from app.services import identity
from conftest import operations
from security_helpers import outcomes, stored_session_ids

GOOD_SECRET = "a" * 40


@pytest.mark.parametrize("key_id, secret, words", [
    ("", GOOD_SECRET, "Enter your access key ID"),
    ("AKIA123", GOOD_SECRET, "20 capital letters"),
    ("akiaabcdefghijklmnop", GOOD_SECRET, "20 capital letters"),
    ("AIDAABCDEFGHIJKLMNOP", GOOD_SECRET, "not an access key ID"),
    ("AKIAABCDEFGHIJKLMNOP", "short", "40 characters"),
    ("AKIAABCDEFGHIJKLMNOP", "x" * 39 + "!", "40 characters"),
])
def test_malformed_keys_are_explained_before_any_aws_call(client, aws_calls, key_id, secret, words):
    page = client.post("/login", data={"access_key_id": key_id, "secret_access_key": secret})
    assert page.status_code == 400
    assert words in page.get_data(as_text=True)
    assert aws_calls == []


def test_temporary_keys_are_refused_with_the_reason(client, aws_calls):
    page = client.post("/login", data={"access_key_id": "ASIAABCDEFGHIJKLMNOP", "secret_access_key": GOOD_SECRET})
    assert page.status_code == 403
    assert "temporary access key" in page.get_data(as_text=True)
    assert aws_calls == []


def test_keys_aws_rejects_get_plain_words(client, make_user):
    make_user("someone")
    page = client.post("/login", data={"access_key_id": "AKIAABCDEFGHIJKLMNOP", "secret_access_key": GOOD_SECRET})
    body = page.get_data(as_text=True)
    assert page.status_code == 401
    assert "AWS does not recognise this access key pair" in body
    assert "Next step" in body


@pytest.mark.parametrize("arn, words", [
    ("arn:aws:iam::123456789012:root", "root user"),
    ("arn:aws:sts::123456789012:assumed-role/Admin/someone", "role or federated session"),
    ("arn:aws:sts::123456789012:federated-user/bob", "role or federated session"),
])
def test_identities_other_than_iam_users_are_refused(client, person, monkeypatch, arn, words):
    from app import aws

    real_call = aws.call

    def fake_identity(aws_client, operation, **params):
        if operation == "GetCallerIdentity":
            return {"Arn": arn, "Account": "123456789012", "UserId": "X"}
        return real_call(aws_client, operation, **params)

    monkeypatch.setattr(aws, "call", fake_identity)
    page = person.sign_in()
    assert page.status_code == 403
    assert words in page.get_data(as_text=True)
    assert_redirect(client.get("/"), "/login")


def test_caller_from_arn_reads_partition_account_and_name_with_path():
    caller = identity.caller_from_arn("arn:aws-cn:iam::111122223333:user/eng/alice", "AIDAX")
    assert (caller.partition, caller.account, caller.user_name) == ("aws-cn", "111122223333", "alice")
    assert caller.mfa_serial("alice") == "arn:aws-cn:iam::111122223333:mfa/alice"


def test_check_key_shape_strips_pasted_whitespace():
    assert identity.check_key_shape(" AKIAABCDEFGHIJKLMNOP\n", f" {GOOD_SECRET} ") == ("AKIAABCDEFGHIJKLMNOP",
                                                                                     GOOD_SECRET)
    with pytest.raises(InvalidInput):
        identity.check_key_shape("AKIAABCDEFGHIJKLMNO", GOOD_SECRET)
    with pytest.raises(KeysRefused):
        identity.check_key_shape("ASIAABCDEFGHIJKLMNOP", GOOD_SECRET)


def test_sign_in_learns_identity_and_alias_and_shows_next_step(person, aws_calls):
    page = person.sign_in()
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Hello, new.hire" in body
    assert "acme-test" in body
    assert "Set up my MFA device" in body
    assert operations(aws_calls)[:2] == ["GetCallerIdentity", "ListAccountAliases"]
    assert "GetUser" not in operations(aws_calls)


def test_session_id_changes_at_sign_in(tmp_path, make_user):
    import re

    from conftest import make_test_app

    user = make_user("fixation")
    app = make_test_app(tmp_path, WTF_CSRF_ENABLED=True)
    browser = app.test_client()
    planted = "attacker-chose-this-session-id"
    browser.set_cookie("mfa_portal", planted)
    form = browser.get("/login").get_data(as_text=True)
    # Before sign-in the CSRF token rides in a signed cookie: nothing is stored server-side for visitors.
    assert browser.get_cookie("mfa_portal_pre") is not None
    assert stored_session_ids(app) == []
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    page = browser.post("/login", data={"csrf_token": token, "access_key_id": user.access_key_id,
                                        "secret_access_key": user.secret_access_key})
    assert_redirect(page, "/")
    after = browser.get_cookie("mfa_portal")
    assert after is not None and after.value != planted
    assert browser.get_cookie("mfa_portal_pre") is None
    # The planted id never became a signed-in session.
    attacker = app.test_client()
    attacker.set_cookie("mfa_portal", planted)
    assert_redirect(attacker.get("/"), "/login")


def test_sign_out_forgets_everything(client, person, app):
    person.sign_in()
    assert stored_session_ids(app)
    page = client.post("/logout", follow_redirects=True)
    assert "The portal has forgotten your keys" in page.get_data(as_text=True)
    assert client.get("/").headers["Location"].endswith("/login")
    assert_redirect(client.get("/credentials"), "/login")
    assert stored_session_ids(app) == []
    # The only entry left is the fresh anonymous session of the page after sign-out, without keys.

    with app.app_context():
        assert outcomes().filter_by(action="sign_out").count() == 1


@pytest.mark.parametrize("target, expected", [
    ("/credentials", "/credentials"),
    ("//evil.example/x", "/"),
    ("https://evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
])
def test_next_only_goes_to_local_paths(client, person, target, expected):
    page = client.post(f"/login?next={target}", data={"access_key_id": person.user.access_key_id,
                                                      "secret_access_key": person.user.secret_access_key})
    assert page.status_code == 302
    assert page.headers["Location"] == expected


def test_anonymous_visitors_are_sent_to_sign_in(client, moto):
    for path in ("/", "/credentials", "/enroll/scan", "/enroll/resync", "/device/replace", "/credentials/result"):
        page = client.get(path)
        assert page.status_code == 302, path
        assert "/login" in page.headers["Location"]


def test_right_key_id_with_wrong_secret_is_rejected(person, client):
    page = person.sign_in(secret="Z" * 40)
    assert page.status_code == 401
    assert "AWS does not recognise this access key pair" in page.get_data(as_text=True)
    assert_redirect(client.get("/"), "/login")


def test_a_slow_alias_lookup_does_not_block_signing_in(person, monkeypatch):
    from app import aws
    from app.errors import AwsUnavailable

    real_call = aws.call

    def flaky(aws_client, operation, **params):
        if operation == "ListAccountAliases":
            raise AwsUnavailable()
        return real_call(aws_client, operation, **params)

    monkeypatch.setattr(aws, "call", flaky)
    page = person.sign_in()
    assert page.status_code == 200
    assert "IAM user in account 123456789012" in page.get_data(as_text=True)


def test_an_ended_session_is_named_with_its_reason_not_a_plain_sign_in_first(client, person, clock):
    person.sign_in()
    clock.shift(16 * 60)  # 16 idle minutes pass
    page = client.get("/security/keys", follow_redirects=True).get_data(as_text=True)
    assert "Your session ended after 15 minutes without activity" in page and "sign in" in page.lower()
    assert "Please sign in with your access key pair first." not in page
    # Said once: a later visit without a session is an ordinary request to sign in.
    assert "Please sign in with your access key pair first." in client.get("/security/keys",
                                                                          follow_redirects=True).get_data(as_text=True)


def test_the_front_door_also_says_the_session_ended(client, person, clock):
    person.sign_in()
    clock.shift(16 * 60)
    assert "Your session ended after 15 minutes" in client.get("/", follow_redirects=True).get_data(as_text=True)


def test_a_visitor_who_never_signed_in_is_asked_to_sign_in_first(client, moto):
    page = client.get("/credentials", follow_redirects=True).get_data(as_text=True)
    assert "Please sign in with your access key pair first." in page and "Your session ended" not in page


def test_signing_out_is_not_called_an_ended_session(client, person):
    person.sign_in()
    client.post("/logout")
    page = client.get("/credentials", follow_redirects=True).get_data(as_text=True)
    assert "Your session ended" not in page and "Please sign in with your access key pair first." in page


@pytest.mark.parametrize("key_id, field, other", [("abc", "access_key_id", "secret_access_key"),
                                                   ("AKIAABCDEFGHIJKLMNOP", "secret_access_key", "access_key_id")])
def test_a_shape_error_marks_its_own_field(client, key_id, field, other):
    page = client.post("/login", data={"access_key_id": key_id, "secret_access_key": "short" if field != "access_key_id"
                                       else GOOD_SECRET}).get_data(as_text=True)
    marked = re.search(rf'<input[^>]*id="{field}"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in marked and f'{field}-error' in marked
    assert f'id="{field}-error"' in page
    assert 'aria-invalid' not in re.search(rf'<input[^>]*id="{other}"[^>]*>', page).group(0)


def test_failed_sign_ins_record_a_shortened_key_id_and_never_other_text(app, client, make_user):
    make_user("someone")
    client.post("/login", data={"access_key_id": "AKIAGUESSEDKEY123456", "secret_access_key": GOOD_SECRET})
    client.post("/login", data={"access_key_id": "wJalrXUtnFEMI/K7MDENG", "secret_access_key": GOOD_SECRET})
    with app.app_context():
        details = [str(e.detail) for e in outcomes().filter_by(action="sign_in").order_by("id")]
    assert "AKIA\\u20263456" in details[0] and "GUESSED" not in details[0]
    assert "wJal" not in details[1] and "key_id" not in details[1]

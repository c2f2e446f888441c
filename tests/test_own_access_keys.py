"""Own access keys: the list, rotation of the signed-in key, the other key, and every refusal on the way."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.models import iam_backends
from own_helpers import audit_rows, fail_call
from pages import AWS_AWAY, NOT_FOUND, assert_page, assert_redirect

from app import aws, stepup
from app.errors import AwsAccessDenied, AwsUnavailable
from app.services import access_keys
from conftest import Person, code, operations

SECRET = re.compile(r'<code id="new-key-secret">([A-Za-z0-9/+]{40})</code>')
NEW_ID = re.compile(r'<code id="new-key-id">(AKIA[A-Z0-9]{16})</code>')


@pytest.fixture
def enrolled(person):
    """A new hire who just enrolled: MFA session in hand, a code accepted seconds ago."""
    person.enroll_fully()
    return person


def listed(iam, name="new.hire"):
    """The user's keys as AWS has them: {key id: status}."""
    return {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]}


def rotate(person, profile="long-term"):
    """Start a rotation, with a code typed on its page, and return the new key's page."""
    return person.client.post("/security/keys/rotate", data={"profile": profile, **person.code_here()},
                              follow_redirects=True)


def test_keys_page_lists_marks_and_flags(client, enrolled, iam):
    key = enrolled.user.access_key_id
    iam_backends[DEFAULT_ACCOUNT_ID]["aws"].access_keys[key].create_date -= timedelta(days=120)
    page = client.get("/security/keys").get_data(as_text=True)
    assert key in page and "this portal session" in page
    assert "older than 90 days: rotate it" in page
    assert "Rotate the key I signed in with" in page


def test_last_use_hidden_under_the_seed_policy_is_no_error(client, enrolled, monkeypatch):
    fail_call(monkeypatch, "GetAccessKeyLastUsed", AwsAccessDenied("iam:GetAccessKeyLastUsed"))
    page = client.get("/security/keys")
    assert page.status_code == 200
    assert "not visible under your account's policy" in page.get_data(as_text=True)


def test_rotation_shows_the_secret_once_and_switches_the_session(app, client, enrolled, iam):
    old = enrolled.user.access_key_id
    assert_page(client.get("/security/keys/rotate"), 200, "Rotate my access key")
    page = rotate(enrolled).get_data(as_text=True)
    new, secret = NEW_ID.search(page).group(1), SECRET.search(page).group(1)
    assert listed(iam) == {old: "Active", new: "Active"}  # the old key works until the person has saved the new one
    assert f"data:text/csv;charset=utf-8,Access%20key%20ID%2CSecret%20access%20key%0A{new}%2C" in page
    assert "aws_secret_access_key%20%3D%20" in page and 'download="credentials-long-term"' in page
    # Copied or downloaded, the block starts apart from a file whose last line has no newline, with the region.
    assert "data:text/plain;charset=utf-8,%0A%5Blong-term%5D%0A" in page and "region%20%3D%20us-east-1" in page
    assert re.search(r'<pre class="snippet" id="snippet-long-term">\n\n\[long-term\]\n', page)
    again = client.get("/security/keys/new", follow_redirects=True).get_data(as_text=True)
    assert secret not in again and "shown only once" in again
    keys_page = client.get("/security/keys").get_data(as_text=True)
    assert re.search(new + r"</code> <span class=\"badge\">this portal session", keys_page)  # the portal signs with it

    client.post("/security/keys/rotate/finish")
    assert listed(iam) == {old: "Inactive", new: "Active"}
    confirm = client.get(f"/security/keys/{old}/delete").get_data(as_text=True)
    assert "stops working at once and for good" in confirm and "This is the key you signed in with." in confirm
    client.post(f"/security/keys/{old}/delete", data=enrolled.code_here())
    assert listed(iam) == {new: "Active"}
    created = audit_rows(app, "access_key_created")
    assert [o for o, _ in created] == ["attempt", "success"] and new in created[1][1] and secret not in str(created)
    assert [o for o, _ in audit_rows(app, "access_key_deleted")] == ["attempt", "success"]
    assert [o for o, _ in audit_rows(app, "access_key_status")] == ["attempt", "success"]


def test_the_new_key_really_works_after_the_old_one_is_gone(client, enrolled, iam, clock):
    old = enrolled.user.access_key_id
    page = rotate(enrolled).get_data(as_text=True)
    new, secret = NEW_ID.search(page).group(1), SECRET.search(page).group(1)
    client.post("/security/keys/rotate/finish")
    client.post(f"/security/keys/{old}/delete", data=enrolled.code_here())
    client.post("/logout")
    clock.advance(2)
    fresh = Person(client, enrolled.user)
    fresh.seed = enrolled.seed
    assert_page(fresh.sign_in(new, secret), 200, "Hello, new.hire")
    assert_page(fresh.get_credentials(), 200, "Your session credentials")
    assert "Your session credentials" in client.get("/credentials/result").get_data(as_text=True)
    assert_page(fresh.sign_in(old, enrolled.user.secret_access_key, follow=False), 401,
                "AWS did not accept these keys")


def test_rotation_asks_for_a_code_typed_on_its_own_page_and_says_why(client, enrolled, iam):
    # The code typed to enroll seconds ago does not count: a stolen cookie inside that window could rotate.
    page = client.get("/security/keys/rotate").get_data(as_text=True)
    assert "Rotating replaces the key you signed in with." in page and 'name="code"' in page
    assert "someone who got hold of your browser session alone cannot do this" in page
    missing = client.post("/security/keys/rotate", data={"profile": "long-term"})
    assert missing.status_code == 400 and "Enter the 6-digit code." in missing.get_data(as_text=True)
    spent = client.post("/security/keys/rotate", data={"profile": "long-term", "device": enrolled.code_here()["device"],
                                                       "code": code(enrolled.seed, 0)})  # the one enrolling used
    assert_page(spent, 400, "That code was already used")
    assert len(listed(iam)) == 1
    assert SECRET.search(rotate(enrolled).get_data(as_text=True)) and len(listed(iam)) == 2


def test_deleting_the_key_signed_in_with_asks_for_a_code_there_but_not_other_keys(client, enrolled, iam):
    other = iam.create_access_key(UserName="new.hire")["AccessKey"]["AccessKeyId"]
    page = client.get(f"/security/keys/{other}/delete").get_data(as_text=True)
    assert 'name="code"' not in page
    assert_redirect(client.post(f"/security/keys/{other}/delete"), "/security/keys")
    assert other not in listed(iam)
    old = enrolled.user.access_key_id
    rotate(enrolled)
    client.post("/security/keys/rotate/finish")
    refused = client.post(f"/security/keys/{old}/delete")  # the rotation's code was typed seconds ago
    assert_page(refused, 400, "Enter the 6-digit code.")
    assert old in listed(iam)
    assert_redirect(client.post(f"/security/keys/{old}/delete", data=enrolled.code_here()), "/security/keys")
    assert old not in listed(iam)


def test_two_keys_already_offer_to_remove_the_other(client, enrolled, iam):
    other = iam.create_access_key(UserName="new.hire")["AccessKey"]["AccessKeyId"]
    refused = client.post("/security/keys/rotate", data={"profile": "long-term"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "You already have two keys" in text and f"Deactivate {other}" in text
    assert len(listed(iam)) == 2
    client.post(f"/security/keys/{other}/status", data={"status": "Inactive"})
    assert listed(iam)[other] == "Inactive"
    client.post(f"/security/keys/{other}/status", data={"status": "Active"})
    assert listed(iam)[other] == "Active"


def test_a_lost_create_answer_is_found_and_offered_for_deletion(app, client, enrolled, iam, monkeypatch):
    real = aws.call
    fail_call(monkeypatch, "CreateAccessKey", AwsUnavailable(may_have_acted=True), after=True)
    assert_page(rotate(enrolled), 503, AWS_AWAY)
    monkeypatch.setattr(aws, "call", real)  # not undo(): that would also revert the fixtures' own patches
    orphan = next(k for k in listed(iam) if k != enrolled.user.access_key_id)
    page = client.get("/security/keys/rotate").get_data(as_text=True)
    assert "nobody has ever seen its secret" in page and f"Delete {orphan}" in page
    outcomes = audit_rows(app, "access_key_created")
    assert [o for o, _ in outcomes] == ["attempt", "unknown"] and "AwsUnavailable" in outcomes[1][1]
    client.post(f"/security/keys/{orphan}/delete")
    page = rotate(enrolled).get_data(as_text=True)
    assert SECRET.search(page) and orphan not in listed(iam) and len(listed(iam)) == 2


def test_two_tabs_rotating_at_once_end_with_one_new_key(app, enrolled, iam, monkeypatch):
    tabs = [app.test_client() for _ in range(2)]
    for tab in tabs:
        tab.set_cookie("mfa_portal", enrolled.client.get_cookie("mfa_portal").value)
    gate = threading.Barrier(2)
    real = access_keys.create_key

    def create_together(*args):
        gate.wait(timeout=10)
        return real(*args)

    monkeypatch.setattr(access_keys, "create_key", create_together)
    monkeypatch.setattr(stepup, "prove_here", lambda form: None)  # each tab typed its own code
    results = [None, None]

    def go(i):
        results[i] = tabs[i].post("/security/keys/rotate", data={"profile": "long-term", "code": "123456",
                                                                  "device": enrolled.code_here()["device"]})

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r.location.rsplit("/", 1)[-1] for r in results) == ["keys", "new"]
    assert len(listed(iam)) == 2  # the old key and exactly one new one
    assert [o for o, _ in audit_rows(app, "access_key_created")].count("success") == 1


@pytest.mark.parametrize("code, words", [
    ("EntityTemporarilyUnmodifiable", "AWS is still applying an earlier change"),
    ("NoSuchEntity", "does not exist any more"),
])
def test_status_refusals_become_plain_words(client, enrolled, iam, monkeypatch, code, words):
    other = iam.create_access_key(UserName="new.hire")["AccessKey"]["AccessKeyId"]
    fail_call(monkeypatch, "UpdateAccessKey", aws.AwsError(code, "", "UpdateAccessKey"))
    page = client.post(f"/security/keys/{other}/status", data={"status": "Inactive"},
                       follow_redirects=True).get_data(as_text=True)
    assert words in page and listed(iam)[other] == "Active"


def test_access_denied_on_create_names_the_action(client, enrolled, iam, monkeypatch):
    fail_call(monkeypatch, "CreateAccessKey", AwsAccessDenied("iam:CreateAccessKey"))
    refused = rotate(enrolled)
    assert refused.status_code == 403 and "iam:CreateAccessKey" in refused.get_data(as_text=True)
    assert len(listed(iam)) == 1


def test_the_key_in_use_cannot_be_deleted_or_switched_off_outside_rotation(client, enrolled, iam):
    key = enrolled.user.access_key_id
    assert_page(client.post(f"/security/keys/{key}/delete"), 404, NOT_FOUND)
    assert_page(client.post(f"/security/keys/{key}/status", data={"status": "Inactive"}), 404, NOT_FOUND)
    assert_page(client.get("/security/keys/not-a-key/delete"), 404, NOT_FOUND)
    assert listed(iam) == {key: "Active"}


def test_changes_need_an_mfa_session(client, person, iam):
    person.sign_in()
    other = iam.create_access_key(UserName="new.hire")["AccessKey"]["AccessKeyId"]
    assert_page(client.get("/security/keys"), 200, "My access keys")  # listing works before MFA
    asked = client.post(f"/security/keys/{other}/status", data={"status": "Inactive"})
    assert asked.status_code == 302 and "/credentials" in asked.location
    assert listed(iam)[other] == "Active"


def test_a_bad_profile_name_is_refused_before_aws(client, enrolled, iam):
    refused = client.post("/security/keys/rotate", data={"profile": "bad name]"})
    assert refused.status_code == 400 and "letters, digits" in refused.get_data(as_text=True)
    assert len(listed(iam)) == 1


def test_home_offers_rotation_of_the_handed_over_key_until_it_is_done(client, enrolled, iam):
    home = client.get("/").get_data(as_text=True)
    assert 'id="rotate-offer"' in home and enrolled.user.access_key_id in home
    rotate(enrolled)
    assert 'id="rotate-offer"' not in client.get("/").get_data(as_text=True)  # the new key postdates the device


def test_the_offer_costs_the_home_page_one_key_listing_shared_with_the_to_do_list(client, enrolled, aws_calls):
    assert 'id="rotate-offer"' in client.get("/").get_data(as_text=True)
    # The to-do list needs the keys (their age, a second active one); the offer reads the same answer.
    assert operations(aws_calls).count("ListAccessKeys") == 1
    client.post("/logout")
    enrolled.sign_in(follow=False)
    home = client.get("/").get_data(as_text=True)
    assert 'id="rotate-offer"' in home and enrolled.user.access_key_id in home
    assert operations(aws_calls).count("ListAccessKeys") == 2  # a later session: still one per home page


def test_the_handed_over_claim_rests_on_the_portals_audit_not_on_todays_devices(app, client, enrolled, iam, clock):
    """Enroll, rotate, delete the old key, add a token, remove the phone, sign in again: the key is the person's."""
    from app.demo.hardware import hardware_seed

    old = enrolled.user.access_key_id
    page = rotate(enrolled).get_data(as_text=True)
    new, secret = NEW_ID.search(page).group(1), SECRET.search(page).group(1)
    client.post("/security/keys/rotate/finish")
    client.post(f"/security/keys/{old}/delete", data=enrolled.code_here())
    clock.advance(1)
    # A token no other test uses: the emulator remembers each token's last code step for the whole run.
    seed = hardware_seed("GAHT55550001")
    client.post("/security/devices", data={"device": "GAHT55550001", "code1": code(seed, -1), "code2": code(seed)})
    virtual = "arn:aws:iam::123456789012:mfa/new.hire"
    clock.advance(11)
    client.post("/credentials", data={"device": virtual, "code": code(enrolled.seed, 1), "duration": "3600",
                                      "profile": "default"})
    client.post(f"/security/devices/remove/{virtual}")
    assert [d["SerialNumber"] for d in iam.list_mfa_devices(UserName="new.hire")["MFADevices"]] == ["GAHT55550001"]
    client.post("/logout")
    enrolled.sign_in(new, secret)
    home = client.get("/").get_data(as_text=True)
    assert 'id="rotate-offer"' not in home and "has seen its secret" not in home
    assert "has seen its secret" not in client.get("/security/keys/rotate").get_data(as_text=True)


def test_a_key_the_portal_knows_nothing_about_gets_no_claim(app, client, make_user, iam):
    """A person enrolled before the portal's audit began: who made the key is unknown, so nothing is said."""
    walker = Person(client, make_user("old.timer"))
    walker.sign_in()
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="old.timer")["VirtualMFADevice"]
    walker.seed = device["Base32StringSeed"].decode()
    iam.enable_mfa_device(UserName="old.timer", SerialNumber=device["SerialNumber"],
                          AuthenticationCode1=code(walker.seed, -1), AuthenticationCode2=code(walker.seed, 0))
    client.post("/credentials", data={"device": device["SerialNumber"], "code": code(walker.seed, 1),
                                      "duration": "3600", "profile": "default"})
    assert 'id="rotate-offer"' not in client.get("/").get_data(as_text=True)
    assert "has seen its secret" not in client.get("/security/keys/rotate").get_data(as_text=True)


def test_the_handed_over_key_is_still_named_after_a_first_enrollment_here(client, enrolled):
    client.post("/logout")
    enrolled.sign_in()
    assert "has seen its secret" in client.get("/security/keys/rotate").get_data(as_text=True)


def test_signing_in_again_mid_rotation_says_to_finish_it(client, enrolled, iam):
    old = enrolled.user.access_key_id
    page = rotate(enrolled).get_data(as_text=True)
    new, secret = NEW_ID.search(page).group(1), SECRET.search(page).group(1)
    client.post("/logout")
    enrolled.sign_in(new, secret)
    keys = client.get("/security/keys").get_data(as_text=True)
    assert 'id="finish-rotation"' in keys and f"your old key <code>{old}</code> still exists" in keys
    client.post("/logout")
    enrolled.sign_in()  # with the old key
    keys = client.get("/security/keys").get_data(as_text=True)
    assert 'id="finish-rotation"' in keys and f"Your key <code>{new}</code> replaces <code>{old}</code>" in keys


def test_two_keys_without_a_rotation_here_get_no_hint(client, enrolled, iam):
    iam.create_access_key(UserName="new.hire")
    assert 'id="finish-rotation"' not in client.get("/security/keys").get_data(as_text=True)


def test_finishing_a_rotation_says_the_old_key_is_inactive_once(client, enrolled, iam, monkeypatch):
    old = enrolled.user.access_key_id
    rotate(enrolled)
    page = client.post("/security/keys/rotate/finish", follow_redirects=True).get_data(as_text=True)
    flashes = re.findall(r'class="flash[^"]*"[^>]*>(.*?)<', page, re.S)
    assert len([f for f in flashes if "inactive" in f]) == 1, flashes
    assert listed(iam)[old] == "Inactive"


def test_an_mfa_session_that_ended_mid_rotation_leads_back_to_the_rotations_last_step(client, enrolled, iam):
    """The code page returns with a GET: the finish address then opens the keys page at the rotation's last step."""
    old = enrolled.user.access_key_id
    rotate(enrolled)
    client.post("/credentials/forget")  # the MFA session ends while the new key's page is open
    asked = client.post("/security/keys/rotate/finish")
    assert asked.location == "/credentials/code?next=/security/keys/rotate/finish&why=session"
    code_page = client.get(asked.location).get_data(as_text=True)
    assert "Your code unlocks deactivating your old access key." in code_page
    back = client.get("/security/keys/rotate/finish")  # where the code page sends the person afterwards
    assert back.status_code == 302 and back.location == "/security/keys#finish-rotation"
    keys = client.get(back.location).get_data(as_text=True)
    assert 'id="finish-rotation"' in keys and f"your old key <code>{old}</code> still exists" in keys
    assert listed(iam)[old] == "Active"  # a GET changes nothing


def test_a_refused_deactivation_at_the_end_of_a_rotation_claims_nothing(client, enrolled, iam, monkeypatch):
    old = enrolled.user.access_key_id
    rotate(enrolled)
    fail_call(monkeypatch, "UpdateAccessKey", aws.AwsError("EntityTemporarilyUnmodifiable", "", "UpdateAccessKey"))
    page = client.post("/security/keys/rotate/finish", follow_redirects=True).get_data(as_text=True)
    assert "AWS is still applying an earlier change" in page and "now inactive" not in page
    assert listed(iam)[old] == "Active"


def test_rotation_without_a_device_says_to_set_one_up_first(client, person):
    """Rotating takes a code typed on the page: a person with no MFA device is sent to set one up, not shown a form."""
    person.sign_in()
    page = client.get("/security/keys/rotate")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="rotate-needs-mfa"' in text and "takes a code from your MFA device, and you have none yet" in text
    assert "Create my new key" not in text
    japanese = client.get("/security/keys/rotate", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert "まだデバイスがありません" in japanese


def test_the_keys_page_flags_keys_at_the_findings_threshold_in_force(app, client, enrolled, iam):
    """The keys page and the findings agree: FINDINGS_KEY_AGE_DAYS decides when a key must be rotated."""
    app.config["FINDINGS_KEY_AGE_DAYS"] = 30
    key = enrolled.user.access_key_id
    iam_backends[DEFAULT_ACCOUNT_ID]["aws"].access_keys[key].create_date -= timedelta(days=31)
    page = client.get("/security/keys").get_data(as_text=True)
    assert "rotate yours at least every 30 days" in page
    assert "older than 30 days: rotate it" in page
    app.config["FINDINGS_KEY_AGE_DAYS"] = 90
    page = client.get("/security/keys").get_data(as_text=True)
    assert "31 days" in page and "rotate it" not in page

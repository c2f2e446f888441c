"""Enrollment: create (recovering stale devices), scan, verify with two codes, resync, replace."""

import re
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
import pytest
from pages import assert_page, assert_redirect

from app.models import AuditEvent
from conftest import code, operations
from security_helpers import outcomes

ENABLED = "Your MFA device is enabled. Last step: prove it works and get your credentials."


def audit_actions(app, outcome="success"):
    with app.app_context():
        return [e.action for e in outcomes().filter_by(outcome=outcome).order_by(AuditEvent.id)]


def virtual_devices(status="Any"):
    iam = boto3.client("iam", region_name="us-east-1")
    return iam.list_virtual_mfa_devices(AssignmentStatus=status)["VirtualMFADevices"]


def test_start_creates_device_named_after_user_without_tags(person, aws_calls):
    person.sign_in()
    page = person.start_enrollment()
    assert_page(page, 200, "Add this account to your authenticator app")
    create = [c for c in aws_calls if c[1] == "CreateVirtualMFADevice"]
    assert create[0][2] == {"VirtualMFADeviceName": "new.hire", "Path": "/"}
    assert [d["SerialNumber"] for d in virtual_devices("Unassigned")] == ["arn:aws:iam::123456789012:mfa/new.hire"]


def test_scan_page_offers_qr_manual_key_link_and_no_store(person, client):
    person.sign_in()
    page = person.start_enrollment()
    body = page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    qr = re.search(r'<div class="qr-frame" role="img"\s+aria-label="([^"]+)">'
                   r'<svg viewBox="0 0 (\d+) \2" class="qr-code">', body, re.S)
    # Version 1 is 21 modules a side, plus four of quiet zone on each side.
    assert qr and "QR code" in qr.group(1) and int(qr.group(2)) >= 21 + 8
    assert "<img" not in body and " style=" not in body  # one request for the page; the CSP forbids inline style
    manual = re.search(r'<code id="manual-key">([^<]+)</code>', body).group(1)
    assert all(len(group) == 4 for group in manual.split(" ")[:-1])
    assert 'data-copy-target="manual-key"' in body
    uri = re.search(r'href="(otpauth://totp/[^"]+)"', body).group(1).replace("&amp;", "&")
    parts = urlsplit(uri)
    query = parse_qs(parts.query)
    assert unquote(parts.path) == "/acme-test:new.hire"
    assert query["issuer"] == ["acme-test"] and query["secret"] == [person.seed]
    assert 'inputmode="numeric"' in body and 'autocomplete="one-time-code"' in body


def test_configured_issuer_and_device_name_pattern(moto, tmp_path, make_user):
    from conftest import Person, make_test_app

    app = make_test_app(tmp_path, MFA_ISSUER="Acme AWS", MFA_DEVICE_NAME_PATTERN="{username}-phone")
    walker = Person(app.test_client(), make_user("alice"))
    walker.sign_in()
    body = walker.start_enrollment().get_data(as_text=True)
    assert "issuer=Acme%20AWS" in body.replace("&amp;", "&")  # Key URI Format: %20, never +
    assert [d["SerialNumber"].rsplit("/", 1)[1] for d in virtual_devices()] == ["alice-phone"]


def test_abandoned_device_is_replaced_without_the_user_noticing(iam, make_user, client, app):
    from conftest import Person

    walker = Person(client, make_user("stale"))
    iam.create_virtual_mfa_device(VirtualMFADeviceName="stale")  # left by an earlier attempt
    walker.sign_in()
    page = walker.start_enrollment()
    assert "Add this account to your authenticator app" in page.get_data(as_text=True)
    assert len(virtual_devices()) == 1
    walker.verify()
    assert_page(walker.get_credentials(), 200, "Your MFA device works. Enrollment is complete.")
    assert "stale_device_replaced" in audit_actions(app)


def test_a_device_name_assigned_to_someone_else_is_not_touched(iam, make_user, client):
    from app.demo.emulator import current_code
    from conftest import Person

    other = make_user("other")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="victim")["VirtualMFADevice"]
    seed = device["Base32StringSeed"].decode()
    iam.enable_mfa_device(UserName=other.name, SerialNumber=device["SerialNumber"],
                          AuthenticationCode1=current_code(seed, -1), AuthenticationCode2=current_code(seed, 0))
    walker = Person(client, make_user("victim"))
    walker.sign_in()
    page = client.post("/enroll/start", follow_redirects=True)
    assert page.status_code == 409
    assert "already exists and is assigned" in page.get_data(as_text=True)
    assert iam.list_mfa_devices(UserName="other")["MFADevices"][0]["SerialNumber"] == device["SerialNumber"]


@pytest.mark.parametrize("first, second, words", [
    ("123456", "123456", "The two codes are the same"),
    ("12345", "123456", "must be the 6 digits"),
    ("abcdef", "123456", "must be the 6 digits"),
])
def test_bad_code_pairs_are_refused_before_aws(person, aws_calls, first, second, words):
    person.sign_in()
    person.start_enrollment()
    page = person.verify(first, second)
    assert page.status_code == 400
    assert words in page.get_data(as_text=True)
    assert "EnableMFADevice" not in operations(aws_calls)


def test_wrong_codes_get_plain_words_and_the_user_can_retry(person, app):
    person.sign_in()
    person.start_enrollment()
    wrong = person.verify("000000", "000001")
    body = wrong.get_data(as_text=True)
    assert wrong.status_code == 400
    assert "AWS did not accept those two codes" in body and "Next step" in body
    assert_page(person.verify(), 200, ENABLED)
    assert audit_actions(app).count("device_enabled") == 1
    assert audit_actions(app, "failure") == ["device_enabled"]


SETUP_TAG = re.compile(r'name="setup" type="hidden" value="([^"]+)"|type="hidden" name="setup" value="([^"]+)"|'
                       r'id="setup" name="setup" type="hidden" value="([^"]+)"')


def shown_setup(page) -> str:
    """The setup tag a scan page carries (which QR code it showed)."""
    found = SETUP_TAG.search(page.get_data(as_text=True))
    assert found, page.get_data(as_text=True)[:3000]
    return next(g for g in found.groups() if g)


def test_a_qr_code_replaced_from_another_tab_is_named_not_called_a_wrong_code(person, client, iam, aws_calls, clock):
    person.sign_in()
    first_tab = person.start_enrollment()
    old_seed, old_setup = person.seed, shown_setup(first_tab)
    clock.shift(1)
    person.start_enrollment()  # the second tab pressed "Start again": a new seed, a new QR code
    assert person.seed != old_seed
    answer = client.post("/enroll/verify", data={"code1": code(old_seed, -1), "code2": code(old_seed, 0),
                                                 "setup": old_setup})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 409 and "started again in another tab or window" in text
    assert "did not accept" not in text and "EnableMFADevice" not in operations(aws_calls)
    assert shown_setup(answer) != old_setup  # the page now carries the new QR's setup
    assert_page(person.verify(), 200, ENABLED)  # codes from the new QR are taken
    assert iam.list_mfa_devices(UserName="new.hire")["MFADevices"]


def test_codes_typed_a_minute_or_more_late_are_called_too_old(person, iam):
    person.sign_in()
    person.start_enrollment()
    late = person.verify(code(person.seed, -4), code(person.seed, -3))  # shown 90 to 120 s ago
    text = late.get_data(as_text=True)
    assert late.status_code == 400 and "Those codes were too old" in text
    assert "accepts a code only for about a minute" in text
    wrong = person.verify("123456", "654321")
    assert "too old" not in wrong.get_data(as_text=True) and "did not accept" in wrong.get_data(as_text=True)
    assert_page(person.verify(), 200, ENABLED)


def test_codes_with_spaces_from_the_app_are_accepted(person):
    person.sign_in()
    person.start_enrollment()
    first, second = code(person.seed, -1), code(person.seed, 0)
    page = person.verify(f"{first[:3]} {first[3:]}", f"{second[:3]} {second[3:]}")
    assert "Prove it works" in page.get_data(as_text=True)


def test_enabling_drops_the_seed_and_the_scan_page(person, client):
    person.sign_in()
    person.start_enrollment()
    person.verify()
    assert_redirect(client.get("/enroll/scan"), "/credentials")


def test_user_with_a_device_cannot_start_another_enrollment(person, client, aws_calls):
    person.enroll_fully()
    page = client.post("/enroll/start", follow_redirects=True)
    assert "You already have an MFA device" in page.get_data(as_text=True)
    assert "CreateVirtualMFADevice" not in operations(aws_calls)[5:]


def test_resync_with_two_codes(person, client, app, clock):
    person.enroll_fully()
    clock.advance(3)
    serial = "arn:aws:iam::123456789012:mfa/new.hire"
    bad = client.post("/enroll/resync", data={"device": serial, "code1": "111111", "code2": "222222"})
    assert bad.status_code == 400 and "could not match those two codes" in bad.get_data(as_text=True)
    good = client.post("/enroll/resync", data={"device": serial, "code1": code(person.seed, 0),
                                               "code2": code(person.seed, 1)}, follow_redirects=True)
    assert "back in sync" in good.get_data(as_text=True)
    assert audit_actions(app)[-1] == "device_resynced"


def test_replacing_a_device_needs_a_current_code(person, client, clock):
    person.enroll_fully()
    clock.advance(2)
    serial = "arn:aws:iam::123456789012:mfa/new.hire"
    refused = client.post("/device/replace", data={"device": serial, "code": "000000"})
    assert_page(refused, 400, "Replace my MFA device", "AWS did not accept this code for your MFA device.")
    assert len(virtual_devices("Assigned")) == 1
    page = client.post("/device/replace", data={"device": serial, "code": code(person.seed)},
                       follow_redirects=True)
    assert "Scan the new QR code" in page.get_data(as_text=True)
    old_seed = person.seed
    person.seed = re.search(r'<code id="manual-key">([^<]+)</code>', page.get_data(as_text=True)).group(1).replace(
        " ", "")
    assert person.seed != old_seed
    assert virtual_devices("Assigned") == []
    assert_page(person.verify(), 200, ENABLED)
    assert len(virtual_devices("Assigned")) == 1


def test_back_after_enabling_says_the_device_is_enabled_not_start_the_setup(person, client):
    person.sign_in()
    person.start_enrollment()
    person.verify()
    back = client.get("/enroll/scan", follow_redirects=True).get_data(as_text=True)
    assert "already enabled" in back and "Start the setup to get a QR code" not in back and "Prove it works" in back
    person.get_credentials()
    later = client.get("/enroll/scan", follow_redirects=True).get_data(as_text=True)
    assert "already set up" in later and "Start the setup to get a QR code" not in later

"""More MFA devices: a hardware token with two codes, the backup-device rule, removing a device."""

from __future__ import annotations

import pytest
from own_helpers import audit_rows

from app.demo.own_credentials import hardware_seed
from conftest import code

TOKEN = "GAHT12345678"


@pytest.fixture
def enrolled(person):
    """A new hire who just enrolled: MFA session in hand, a code accepted seconds ago."""
    person.enroll_fully()
    return person


def assigned(iam):
    """The serials AWS has assigned to the user."""
    return sorted(d["SerialNumber"] for d in iam.list_mfa_devices(UserName="new.hire")["MFADevices"])


def add_token(client, typed=TOKEN, first=None, second=None):
    """Submit the hardware-token form with two consecutive codes from the token."""
    seed = hardware_seed(TOKEN)
    return client.post("/security/devices", data={"device": typed, "code1": first or code(seed, -1),
                                                   "code2": second or code(seed, 0)})


def test_a_hardware_token_is_enabled_and_gives_session_credentials(app, client, enrolled, iam, clock):
    assert add_token(client, " gaht-1234 5678 ").status_code == 302  # typed loosely, normalised
    assert TOKEN in assigned(iam)
    page = client.get("/security/devices").get_data(as_text=True)
    assert TOKEN in page and "hardware" in page
    clock.advance(1)
    answer = client.post("/credentials", data={"device": TOKEN, "code": code(hardware_seed(TOKEN), 0),
                                               "duration": "3600", "profile": "default"})
    assert answer.status_code == 302 and answer.location.endswith("/credentials/result")
    assert [o for o, _ in audit_rows(app, "hardware_token_enabled")] == ["attempt", "success"]


@pytest.mark.parametrize("serial, words", [("GAHT1", "9 to 32 letters and digits"), ("", "serial number")])
def test_a_bad_serial_is_refused_before_aws(client, enrolled, iam, serial, words):
    refused = client.post("/security/devices", data={"device": serial, "code1": "123456", "code2": "654321"})
    assert refused.status_code == 400 and words in refused.get_data(as_text=True)
    assert TOKEN not in assigned(iam)


def test_wrong_codes_and_an_unknown_token_are_explained(client, enrolled, iam):
    wrong = add_token(client, first="000000", second="111111")
    assert wrong.status_code == 400 and "did not accept those two codes for this token" in wrong.get_data(as_text=True)
    unknown = client.post("/security/devices", data={"device": "XYZW12345678", "code1": "123456",
                                                     "code2": "654321"})
    assert unknown.status_code == 409 and "does not know a hardware token" in unknown.get_data(as_text=True)
    assert TOKEN not in assigned(iam)


def test_the_seed_policy_allows_no_backup_phone_and_the_page_says_so(client, enrolled):
    page = client.get("/security/devices").get_data(as_text=True)
    assert "allows one virtual MFA device, named after you" in page and "mfa/new.hire" in page


def test_remove_a_device_warning_when_it_is_the_last(app, client, enrolled, iam, clock):
    virtual = "arn:aws:iam::123456789012:mfa/new.hire"
    assert "This is your only MFA device" in client.get(f"/security/devices/remove/{virtual}").get_data(as_text=True)
    clock.advance(1)
    add_token(client)
    confirm = client.get(f"/security/devices/remove/{virtual}").get_data(as_text=True)
    assert "Your other devices keep working" in confirm
    client.post(f"/security/devices/remove/{virtual}")
    assert assigned(iam) == [TOKEN]
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []  # a virtual device is deleted, not just detached
    assert [o for o, _ in audit_rows(app, "device_removed")] == ["attempt", "success"]


def test_removal_needs_a_recent_code(client, enrolled, iam, clock):
    virtual = "arn:aws:iam::123456789012:mfa/new.hire"
    clock.advance(11)
    asked = client.post(f"/security/devices/remove/{virtual}")
    assert asked.status_code == 302 and "/credentials?next=" in asked.location
    assert assigned(iam) == [virtual]
    assert client.get("/security/devices/remove/arn:aws:iam::123456789012:mfa/victim").status_code == 404

"""More MFA devices: a hardware token with two codes, the backup-device rule, removing a device."""

from __future__ import annotations

import pytest
from own_helpers import TOKEN, add_token, audit_rows
from pages import NOT_FOUND, assert_page, assert_redirect

from app.demo.hardware import hardware_seed
from conftest import code


@pytest.fixture
def enrolled(person):
    """A new hire who just enrolled: MFA session in hand, a code accepted seconds ago."""
    person.enroll_fully()
    return person


def assigned(iam):
    """The serials AWS has assigned to the user."""
    return sorted(d["SerialNumber"] for d in iam.list_mfa_devices(UserName="new.hire")["MFADevices"])


def test_a_hardware_token_is_enabled_and_gives_session_credentials(app, client, enrolled, iam, clock):
    assert_redirect(add_token(client, " gaht-1234 5678 "), "/security/devices")  # typed loosely, normalised
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


def test_removing_the_last_device_asks_for_a_code_typed_there_and_says_why(app, client, enrolled, iam, clock):
    virtual = "arn:aws:iam::123456789012:mfa/new.hire"
    page = client.get(f"/security/devices/remove/{virtual}").get_data(as_text=True)
    assert "Removing your last MFA device locks you out" in page and 'name="code"' in page
    # The enrollment's code a few seconds ago is not enough: a stolen cookie inside that window would be.
    refused = client.post(f"/security/devices/remove/{virtual}")
    assert_page(refused, 400, "This is your only MFA device", "Enter the 6-digit code.")
    assert assigned(iam) == [virtual]
    wrong = client.post(f"/security/devices/remove/{virtual}", data={"device": virtual, "code": "000000"})
    assert_page(wrong, 400, "AWS did not accept this code for your MFA device.")
    assert assigned(iam) == [virtual]
    done = client.post(f"/security/devices/remove/{virtual}", data=enrolled.code_here())
    assert_redirect(done, "/")
    assert assigned(iam) == []
    assert_page(client.get("/security/devices/remove/arn:aws:iam::123456789012:mfa/victim"), 404, NOT_FOUND)


def test_removing_one_of_two_devices_needs_only_a_recent_code(client, enrolled, iam, clock):
    clock.advance(1)
    token = "GAHT55550002"  # its own token: the emulator keeps each token's last code step for the whole run
    seed = hardware_seed(token)
    client.post("/security/devices", data={"device": token, "code1": code(seed, -1), "code2": code(seed, 0)})
    virtual = "arn:aws:iam::123456789012:mfa/new.hire"
    clock.advance(11)
    asked = client.post(f"/security/devices/remove/{virtual}")
    assert asked.status_code == 302 and "/credentials/code?next=" in asked.location
    assert "removing an MFA device" in client.get(asked.location).get_data(as_text=True)
    assert sorted(assigned(iam)) == sorted([virtual, token])


# Backup virtual devices: only where the administrators named them (their policy allows mfa/*).
BACKUP_PATTERN = "{username}-{label}"


@pytest.fixture
def backup_app(moto, tmp_path):
    """The portal with backup devices named <user>-<label>."""
    from conftest import make_test_app

    return make_test_app(tmp_path, MFA_BACKUP_NAME_PATTERN=BACKUP_PATTERN)


@pytest.fixture
def backup_person(backup_app, make_user):
    """A new hire on that portal, enrolled and holding an MFA session."""
    from conftest import Person

    walker = Person(backup_app.test_client(), make_user("new.hire"))
    walker.enroll_fully()
    return walker


def scanned_seed(page: str) -> str:
    """The manual key the scan page shows."""
    import re

    return re.search(r'<code id="manual-key">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")


def test_a_backup_device_is_created_enabled_and_gives_codes(backup_app, backup_person, iam, clock):
    client = backup_person.client
    page = client.get("/security/devices").get_data(as_text=True)
    assert "Create the backup device" in page and "allows one virtual MFA device" not in page
    created = client.post("/security/devices/backup", data={"label": " tablet "})
    assert created.status_code == 302 and created.location.endswith("/enroll/scan")
    scan = client.get("/enroll/scan").get_data(as_text=True)
    assert "new.hire-tablet" in scan and "otpauth://totp/" in scan and "Start over with a new QR code" not in scan
    seed = scanned_seed(scan)
    clock.advance(1)
    enabled = client.post("/enroll/verify", data={"code1": code(seed, -1), "code2": code(seed, 0)})
    assert enabled.status_code == 302 and enabled.location.endswith("/security/devices")
    assert "backup device new.hire-tablet is enabled" in client.get("/security/devices").get_data(as_text=True)
    assert assigned(iam) == ["arn:aws:iam::123456789012:mfa/new.hire", "arn:aws:iam::123456789012:mfa/new.hire-tablet"]
    assert "Continue the setup" not in client.get("/").get_data(as_text=True)  # the seed is gone, nothing pending
    assert_redirect(client.get("/enroll/scan"), "/")
    clock.advance(1)
    answer = client.post("/credentials", data={"device": "arn:aws:iam::123456789012:mfa/new.hire-tablet",
                                               "code": code(seed, 0), "duration": "3600", "profile": "default"})
    assert answer.status_code == 302 and answer.location.endswith("/credentials/result")
    assert [o for o, _ in audit_rows(backup_app, "backup_device_created")] == ["attempt", "success"]
    from app.models import AuditEvent

    with backup_app.app_context():
        enabled_rows = (AuditEvent.query.filter_by(action="device_enabled", outcome="success")
                        .order_by(AuditEvent.id).all())
        # The backup's enabling is not a second first enrollment: the admin counts stay right.
        assert [row.first_enrollment for row in enabled_rows] == [True, False]


@pytest.mark.parametrize("label, words", [("", "Name the backup device"), ("my tablet", "letters, digits or hyphens"),
                                          ("x" * 21, "letters, digits or hyphens")])
def test_a_bad_backup_name_is_refused_before_aws(backup_person, iam, label, words):
    refused = backup_person.client.post("/security/devices/backup", data={"label": label})
    assert refused.status_code == 400 and words in refused.get_data(as_text=True)
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"][1:] == []  # only the first device exists


def test_a_taken_name_and_the_eight_device_limit_are_explained(backup_person, iam):
    taken = backup_person.client.post("/security/devices/backup", data={"label": "x"})
    assert_redirect(taken, "/enroll/scan")
    # The same name again while it waits for its codes: the portal replaces the person's own unassigned one.
    again = backup_person.client.post("/security/devices/backup", data={"label": "x"})
    assert_redirect(again, "/enroll/scan")
    for n in range(7):
        device = iam.create_virtual_mfa_device(VirtualMFADeviceName=f"extra{n}")["VirtualMFADevice"]
        seed = device["Base32StringSeed"].decode()
        iam.enable_mfa_device(UserName="new.hire", SerialNumber=device["SerialNumber"],
                              AuthenticationCode1=code(seed, -1), AuthenticationCode2=code(seed, 0))
    full = backup_person.client.post("/security/devices/backup", data={"label": "nine"})
    assert full.status_code == 409 and "AWS allows 8 MFA devices per user" in full.get_data(as_text=True)


def test_an_enabled_name_is_not_taken_twice(backup_person, iam, clock):
    client = backup_person.client
    client.post("/security/devices/backup", data={"label": "phone2"})
    seed = scanned_seed(client.get("/enroll/scan").get_data(as_text=True))
    clock.advance(1)
    client.post("/enroll/verify", data={"code1": code(seed, -1), "code2": code(seed, 0)})
    refused = client.post("/security/devices/backup", data={"label": "phone2"})
    assert refused.status_code == 400
    assert "already have a device named new.hire-phone2" in refused.get_data(as_text=True)


def test_without_a_backup_pattern_there_is_no_backup_form(client, enrolled):
    assert_page(client.post("/security/devices/backup", data={"label": "tablet"}), 404, NOT_FOUND)
    assert "Create the backup device" not in client.get("/security/devices").get_data(as_text=True)


def test_a_backup_pattern_without_a_label_stops_start_up(tmp_path):
    from app.config import ConfigurationError
    from conftest import make_test_app

    with pytest.raises(ConfigurationError, match=r"must contain \{label\}"):
        make_test_app(tmp_path, MFA_BACKUP_NAME_PATTERN="{username}-backup")

"""The person's device list is asked of AWS once per flow, not on every page, and never trusted against AWS."""

from __future__ import annotations

import re

import time_machine
from pages import assert_page, assert_redirect

from app.services import devices
from conftest import Person, code, operations

SERIAL = "arn:aws:iam::123456789012:mfa/new.hire"


def listings(calls) -> int:
    """How many times the portal asked AWS for the person's devices."""
    return operations(calls).count("ListMFADevices")


def test_a_whole_enrollment_lists_the_devices_once_not_six_times(client, make_user, aws_calls):
    person = Person(client, make_user("new.hire"))
    person.enroll_fully()  # sign-in, home, start, scan, two codes, credentials form, one code, result
    home = client.get("/").get_data(as_text=True)
    # Home, before the device exists. After enabling, the list is the one device AWS just accepted.
    assert listings(aws_calls) == 1
    assert "MFA is set up" in home and "new.hire" in home


def test_a_replacement_asks_for_the_list_again_after_enabling(client, make_user, aws_calls, clock):
    person = Person(client, make_user("new.hire"))
    person.enroll_fully()
    clock.advance(2)
    page = client.post("/device/replace", data={"device": SERIAL, "code": code(person.seed)}, follow_redirects=True)
    person.seed = re.search(r'<code id="manual-key">([^<]+)</code>', page.get_data(as_text=True)).group(1).replace(
        " ", "")
    person.verify(follow=False)
    before = listings(aws_calls)
    client.get("/credentials")
    # Other devices may remain after a replacement, so the portal asks instead of assuming the list.
    assert listings(aws_calls) == before + 1


def test_the_portal_forgets_the_list_before_each_change_it_makes(client, make_user, aws_calls, iam, clock):
    person = Person(client, make_user("new.hire"))
    person.enroll_fully()
    serial = "arn:aws:iam::123456789012:mfa/new.hire"
    before = listings(aws_calls)
    client.get("/")
    assert listings(aws_calls) == before  # reused
    client.post(f"/security/devices/remove/{serial}", data=person.code_here())
    assert iam.list_mfa_devices(UserName="new.hire")["MFADevices"] == []
    home = client.get("/").get_data(as_text=True)
    assert listings(aws_calls) > before and "Set up my MFA device" in home  # asked again: the removal shows


def test_a_device_added_elsewhere_is_found_when_the_person_picks_it(client, make_user, iam, clock):
    person = Person(client, make_user("new.hire"))
    person.enroll_fully()
    other = iam.create_virtual_mfa_device(VirtualMFADeviceName="new.hire-console")["VirtualMFADevice"]
    seed = other["Base32StringSeed"].decode()
    iam.enable_mfa_device(UserName="new.hire", SerialNumber=other["SerialNumber"],
                          AuthenticationCode1=code(seed, -1), AuthenticationCode2=code(seed, 0))
    clock.advance(1)
    # The remembered list (seconds old) lacks it; picking it makes the portal ask AWS instead of refusing.
    answer = client.post("/credentials", data={"device": other["SerialNumber"], "code": code(seed, 0),
                                               "duration": "3600", "profile": "default"})
    assert answer.status_code == 302 and answer.location.endswith("/credentials/result")


def test_a_device_removed_elsewhere_fails_at_aws_then_the_list_is_fresh(client, make_user, iam, clock):
    person = Person(client, make_user("new.hire"))
    person.enroll_fully()
    serial = "arn:aws:iam::123456789012:mfa/new.hire"
    iam.deactivate_mfa_device(UserName="new.hire", SerialNumber=serial)  # an administrator, in the console
    clock.advance(1)
    refused = client.post("/credentials", data={"device": serial, "code": code(person.seed, 1),
                                                "duration": "3600", "profile": "default"})
    # AWS, not the remembered list, decided.
    assert_page(refused, 400, "AWS did not accept this code for your MFA device.")
    assert_redirect(client.get("/credentials"), "/")  # asked again: no device left, so off to set one up


def test_the_list_is_remembered_for_a_minute_only():
    from app.sessions import PortalSession

    state = PortalSession({}, sealer=None, settings=None)
    kept_at = 1_800_000_000.0
    with time_machine.travel(kept_at, tick=False):
        state.keep_devices([devices.Device("arn:aws:iam::123456789012:mfa/gone", None)])
    fresh_for = devices.DEVICES_FRESH_SECONDS
    assert state.cached_devices(fresh_for, now=kept_at + fresh_for - 1) == [
        devices.Device("arn:aws:iam::123456789012:mfa/gone", None)]
    assert state.cached_devices(fresh_for, now=kept_at + fresh_for + 1) is None
    state.forget_devices()
    assert state.cached_devices(fresh_for, now=kept_at) is None

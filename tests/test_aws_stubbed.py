"""AWS answers moto never gives, scripted with botocore's Stubber and sent through aws.call like real ones."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from app import aws
from app.errors import AwsAccessDenied, AwsError, DeviceProblem
from app.services import devices
from app.services.identity import Caller

CALLER = Caller("arn:aws:iam::123456789012:user/new.hire", "123456789012", "aws", "new.hire", "AIDAEXAMPLE")
SERIAL = "arn:aws:iam::123456789012:mfa/new.hire"
OTHER = "arn:aws:iam::123456789012:mfa/someone.else"


@pytest.fixture
def iam():
    """A portal IAM client whose answers the test scripts; Stubber checks every call was expected."""
    client = aws.client("iam", aws.Keys("AKIAEXAMPLEEXAMPLE12", "x" * 40), aws.Settings())
    with Stubber(client.botocore_client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def enable_refused(stub: Stubber, code: str) -> None:
    """Script EnableMFADevice answering with an AWS error code."""
    stub.add_client_error("enable_mfa_device", service_error_code=code, http_status_code=409 if code != "NoSuchEntity"
                          else 404, expected_params={"UserName": "new.hire", "SerialNumber": SERIAL,
                                                     "AuthenticationCode1": "123456", "AuthenticationCode2": "654321"})


def listed(stub: Stubber, *serials: str) -> None:
    """Script ListMFADevices answering with these devices."""
    stub.add_response("list_mfa_devices", {"MFADevices": [
        {"UserName": "new.hire", "SerialNumber": s, "EnableDate": "2026-12-01T10:00:00Z"} for s in serials]},
        {"UserName": "new.hire"})


def test_access_denied_names_the_action(iam):
    client, stub = iam
    stub.add_client_error("list_users", "AccessDenied", "User: x is not authorized to perform: iam:ListUsers",
                          http_status_code=403)
    with pytest.raises(AwsAccessDenied) as denied:
        aws.call(client, "ListUsers")
    assert denied.value.action == "iam:ListUsers"


def test_access_denied_for_a_wrong_mfa_code_stays_an_aws_error_with_its_code(iam):
    """STS says AccessDenied for a refused code; the message, not the code, tells it from a policy denial."""
    client, stub = iam
    stub.add_client_error("list_users", "AccessDenied", "MultiFactorAuthentication failed with invalid MFA one "
                          "time pass code.", http_status_code=403)
    with pytest.raises(AwsError) as refused:
        aws.call(client, "ListUsers")
    assert not isinstance(refused.value, AwsAccessDenied)
    assert refused.value.code == "AccessDenied"


def test_enable_whose_first_answer_was_lost_counts_as_done(iam):
    """The retry meets EntityAlreadyExists, and the device is the user's: the earlier attempt worked."""
    client, stub = iam
    enable_refused(stub, "EntityAlreadyExists")
    listed(stub, SERIAL)
    devices.enable_device(client, CALLER, SERIAL, "123456", "654321")


@pytest.mark.parametrize("code, others", [("EntityAlreadyExists", (OTHER,)), ("NoSuchEntity", None)])
def test_enable_of_a_device_removed_or_replaced_meanwhile_asks_to_start_again(iam, code, others):
    client, stub = iam
    enable_refused(stub, code)
    if others is not None:  # only EntityAlreadyExists looks for the device among the user's own
        listed(stub, *others)
    with pytest.raises(DeviceProblem, match="can no longer be enabled"):
        devices.enable_device(client, CALLER, SERIAL, "123456", "654321")


def test_resync_of_a_device_no_longer_assigned_asks_to_reload(iam):
    client, stub = iam
    stub.add_client_error("resync_mfa_device", "NoSuchEntity", "gone", http_status_code=404)
    with pytest.raises(DeviceProblem, match="not assigned to you"):
        devices.resync_device(client, CALLER, SERIAL, "123456", "654321")


@pytest.mark.parametrize("done_before", [{"deactivate_mfa_device"},
                                         {"deactivate_mfa_device", "delete_virtual_mfa_device"}])
def test_reset_after_a_lost_answer_finishes_what_is_left(iam, done_before):
    """An admin's retried reset meets NoSuchEntity for the steps the lost attempt already did, and goes on."""
    client, stub = iam
    for operation, params in (("deactivate_mfa_device", {"UserName": "new.hire", "SerialNumber": SERIAL}),
                              ("delete_virtual_mfa_device", {"SerialNumber": SERIAL})):
        if operation in done_before:
            stub.add_client_error(operation, "NoSuchEntity", "not found", 404, expected_params=params)
        else:
            stub.add_response(operation, {}, params)
    devices.remove_device(client, "new.hire", SERIAL)


def test_reset_still_reports_other_failures(iam):
    client, stub = iam
    stub.add_client_error("deactivate_mfa_device", "LimitExceeded", "slow down", 409)
    with pytest.raises(AwsError) as failed:
        devices.remove_device(client, "new.hire", SERIAL)
    assert failed.value.code == "LimitExceeded"

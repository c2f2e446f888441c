"""The demo emulator is no kinder than AWS: the force-MFA policy's deny, one user per token, codes on AssumeRole."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import boto3
import moto
import pyotp
import pytest
from botocore.exceptions import ClientError
from emulator_helpers import ROOT, aws_error, clients, emulator_code

from app.demo import emulator, hardware
from app.policy import policy_text
from conftest import Clock

TRUST_WITH_MFA = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole",
    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}


@pytest.fixture
def aws(clock: Clock):
    """moto in-process with the emulator's checks, and the force-MFA group of the demo."""
    emulator.install_aws_checks()
    with moto.mock_aws():
        admin = boto3.client("iam")
        arn = admin.create_policy(PolicyName="ForceMFA", PolicyDocument=policy_text("force-mfa"))["Policy"]["Arn"]
        admin.create_group(GroupName="mfa-required")
        admin.attach_group_policy(GroupName="mfa-required", PolicyArn=arn)
        yield admin


def person(admin, name: str):
    """A user under the force-MFA policy with a long-term key: their IAM and STS clients."""
    admin.create_user(UserName=name)
    admin.add_user_to_group(GroupName="mfa-required", UserName=name)
    key = admin.create_access_key(UserName=name)["AccessKey"]
    return clients(key["AccessKeyId"], key["SecretAccessKey"])


def enable_hardware(iam, name: str, serial: str) -> str:
    """Enable the demo hardware token with this serial for a user; return its seed."""
    seed = hardware.hardware_seed(serial)
    iam.enable_mfa_device(UserName=name, SerialNumber=serial, AuthenticationCode1=emulator_code(seed, -1),
                          AuthenticationCode2=emulator_code(seed, 0))
    return seed


def test_a_long_term_key_gets_only_what_the_policy_allows_without_mfa(aws, clock):
    iam, sts = person(aws, "pat.doe")
    for call in (iam.list_groups, lambda: iam.get_user(UserName="pat.doe"), iam.list_roles,
                 lambda: iam.list_signing_certificates(UserName="pat.doe")):
        with pytest.raises(ClientError) as refused:
            call()
        assert aws_error(refused) == ("AccessDenied", 403)
        assert "explicit deny" in refused.value.response["Error"]["Message"]
    # What the policy lets a person do before MFA still works: list (its own keys, users), enroll.
    assert iam.list_access_keys(UserName="pat.doe")["AccessKeyMetadata"]
    assert iam.list_users()["Users"]
    serial = "GAHT10000001"
    seed = enable_hardware(iam, "pat.doe", serial)
    # A session without a code carries no MFA either.
    plain = sts.get_session_token()["Credentials"]
    bare_iam, _ = clients(plain["AccessKeyId"], plain["SecretAccessKey"], plain["SessionToken"])
    with pytest.raises(ClientError) as refused:
        bare_iam.list_groups()
    assert aws_error(refused) == ("AccessDenied", 403)
    clock.shift(30)
    creds = sts.get_session_token(SerialNumber=serial, TokenCode=emulator_code(seed))["Credentials"]
    mfa_iam, _ = clients(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    assert "Groups" in mfa_iam.list_groups()
    assert mfa_iam.get_user(UserName="pat.doe")["User"]["UserName"] == "pat.doe"


def test_one_hardware_token_cannot_be_enabled_for_two_users(aws, clock):
    first, _ = person(aws, "pat.doe")
    second, _ = person(aws, "sam.roe")
    serial = "GAHT10000002"
    enable_hardware(first, "pat.doe", serial)
    clock.shift(90)
    with pytest.raises(ClientError) as refused:
        enable_hardware(second, "sam.roe", serial)
    assert refused.value.response["Error"]["Code"] == "EntityAlreadyExists"
    assert [d["SerialNumber"] for d in aws.list_mfa_devices(UserName="sam.roe")["MFADevices"]] == []
    assert [d["SerialNumber"] for d in aws.list_mfa_devices(UserName="pat.doe")["MFADevices"]] == [serial]


def test_assume_role_checks_the_code_and_the_trust_policy(aws, clock):
    _, sts = person(aws, "pat.doe")
    iam_self, _ = clients(*_long_term(aws, "pat.doe"))
    role = aws.create_role(RoleName="deploy", AssumeRolePolicyDocument=json.dumps(TRUST_WITH_MFA))["Role"]["Arn"]
    serial = "GAHT10000003"
    seed = enable_hardware(iam_self, "pat.doe", serial)
    clock.shift(30)
    with pytest.raises(ClientError) as refused:
        sts.assume_role(RoleArn=role, RoleSessionName="cli")  # no code: the policy's deny, and the trust's MFA
    assert aws_error(refused) == ("AccessDenied", 403)
    wrong = f"{(int(emulator_code(seed)) + 1) % 1_000_000:06d}"
    with pytest.raises(ClientError) as refused:
        sts.assume_role(RoleArn=role, RoleSessionName="cli", SerialNumber=serial, TokenCode=wrong)
    assert aws_error(refused) == ("AccessDenied", 403)
    assumed = sts.assume_role(RoleArn=role, RoleSessionName="cli", SerialNumber=serial, TokenCode=emulator_code(seed))
    assert assumed["AssumedRoleUser"]["Arn"].endswith(":assumed-role/deploy/cli")
    with pytest.raises(ClientError) as refused:  # the same code twice: AWS refuses a spent code
        sts.assume_role(RoleArn=role, RoleSessionName="cli", SerialNumber=serial, TokenCode=emulator_code(seed))
    assert aws_error(refused) == ("AccessDenied", 403)


def _long_term(admin, name: str) -> tuple[str, str]:
    """A second long-term key of the user (the first one's secret is inside its clients)."""
    key = admin.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def test_run_as_a_module_session_keys_change_the_password(tmp_path):
    """`python -m app.demo.emulator` loaded itself twice: session keys minted by one copy were unknown to the other."""
    process = subprocess.Popen([sys.executable, "-m", "app.demo.emulator", "--port", "0", "--seed-users", "0"],
                               cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        started = json.loads(process.stdout.readline())
        user = next(u for u in started["users"] if u["name"] == "enrolled.user")
        _, sts = clients(user["access_key_id"], user["secret_access_key"], endpoint_url=started["endpoint_url"])
        iam_lt, _ = clients(user["access_key_id"], user["secret_access_key"], endpoint_url=started["endpoint_url"])
        serial = iam_lt.list_mfa_devices(UserName=user["name"])["MFADevices"][0]["SerialNumber"]
        code = pyotp.TOTP(user["mfa_seed"]).at(time.time() + 30)  # the next step: never spent by the seed
        creds = sts.get_session_token(SerialNumber=serial, TokenCode=code)["Credentials"]
        iam, _ = clients(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"],
                          started["endpoint_url"])
        iam.create_login_profile(UserName=user["name"], Password="Old-password-1")
        iam.change_password(OldPassword="Old-password-1", NewPassword="New-password-2")
        with pytest.raises(ClientError) as refused:
            iam.change_password(OldPassword="Old-password-1", NewPassword="Third-password-3")
        assert refused.value.response["Error"]["Code"] == "AccessDenied"  # the old one really changed
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()

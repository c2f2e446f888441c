"""The demo emulator checks MFA codes and keys like AWS; the seed builds the promised account."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import boto3
import moto
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from emulator_helpers import ROOT, aws_error, clients, emulator_code
from moto.iam.responses import IamResponse
from moto.sts.responses import TokenResponse

from app.demo import emulator, seed
from app.policy import policy_text
from conftest import Clock

ACCOUNT = "123456789012"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and no profile files, so nothing can reach real AWS."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


@pytest.fixture
def aws(clock: Clock):
    """Run inside moto's in-process mock with the AWS checks installed."""
    emulator.install_aws_checks()
    with moto.mock_aws():
        yield


def _new_person(name: str = "pat.doe"):
    """Create a user with a key and a fresh device as the portal would; return clients, serial, seed."""
    admin = boto3.client("iam")
    admin.create_user(UserName=name)
    key = admin.create_access_key(UserName=name)["AccessKey"]
    iam, sts = clients(key["AccessKeyId"], key["SecretAccessKey"])
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
    return iam, sts, device["SerialNumber"], device["Base32StringSeed"].decode()


def _enable(iam, serial: str, seed_b32: str, first_step: int = -1, name: str = "pat.doe") -> None:
    """Enable a device with the codes of first_step and the step after."""
    iam.enable_mfa_device(
        UserName=name,
        SerialNumber=serial,
        AuthenticationCode1=emulator_code(seed_b32, first_step),
        AuthenticationCode2=emulator_code(seed_b32, first_step + 1),
    )


def _other_code(code: str) -> str:
    """Return a six-digit code that differs from code."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_install_is_idempotent() -> None:
    """Installing twice patches once."""
    emulator.install_aws_checks()
    transformers = dict(IamResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER)
    emulator.install_aws_checks()
    assert IamResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER == transformers
    assert IamResponse.enable_mfa_device is emulator._enable_mfa_device
    assert TokenResponse.get_caller_identity is emulator._get_caller_identity


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("first_step", [-2, -1, 0, 1])
def test_enable_accepts_consecutive_codes_in_window(first_step: int) -> None:
    """Two consecutive codes starting from two steps back to one ahead enable the device."""
    iam, _, serial, seed_b32 = _new_person()
    _enable(iam, serial, seed_b32, first_step)
    devices = iam.list_mfa_devices(UserName="pat.doe")["MFADevices"]
    assert [d["SerialNumber"] for d in devices] == [serial]


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    "steps",
    [(0, 0), (-1, 1), (0, -1), (-3, -2), (2, 3), "wrong"],
    ids=["identical", "gap", "reversed", "too-old", "too-new", "wrong"],
)
def test_enable_rejects_bad_codes(steps: tuple[int, int] | str) -> None:
    """Identical, gapped, reversed, stale, early or wrong codes are refused like AWS refuses them."""
    iam, _, serial, seed_b32 = _new_person()
    if steps == "wrong":
        codes = (_other_code(emulator_code(seed_b32, -1)), emulator_code(seed_b32, 0))
    else:
        codes = (emulator_code(seed_b32, steps[0]), emulator_code(seed_b32, steps[1]))
    with pytest.raises(ClientError) as excinfo:
        iam.enable_mfa_device(
            UserName="pat.doe",
            SerialNumber=serial,
            AuthenticationCode1=codes[0],
            AuthenticationCode2=codes[1],
        )
    assert aws_error(excinfo) == ("InvalidAuthenticationCode", 403)
    assert excinfo.value.response["Error"]["Message"] == "Authentication code for device is not valid."
    assert iam.list_mfa_devices(UserName="pat.doe")["MFADevices"] == []


@pytest.mark.usefixtures("aws")
def test_listing_devices_hides_seed_like_aws() -> None:
    """ListVirtualMFADevices never repeats a seed or QR code."""
    iam, _, _, _ = _new_person()
    listed = iam.list_virtual_mfa_devices()["VirtualMFADevices"]
    assert listed and all("Base32StringSeed" not in d and "QRCodePNG" not in d for d in listed)


@pytest.mark.usefixtures("aws")
def test_resync_window_and_ownership(clock: Clock) -> None:
    """Resync takes consecutive codes in a wide window, only for the user's own assigned device."""
    iam, _, serial, seed_b32 = _new_person()
    _enable(iam, serial, seed_b32)

    def resync(first: int, second: int, user: str = "pat.doe", serial_number: str = serial) -> None:
        """Resync with the codes of two steps."""
        iam.resync_mfa_device(
            UserName=user,
            SerialNumber=serial_number,
            AuthenticationCode1=emulator_code(seed_b32, first),
            AuthenticationCode2=emulator_code(seed_b32, second),
        )

    resync(-10, -9)
    resync(2, 3)
    for bad in [(-12, -11), (0, 2), (4, 5)]:
        with pytest.raises(ClientError) as excinfo:
            resync(*bad)
        assert aws_error(excinfo) == ("InvalidAuthenticationCode", 403)
    boto3.client("iam").create_user(UserName="someone.else")
    with pytest.raises(ClientError) as excinfo:
        resync(-1, 0, user="someone.else")
    assert aws_error(excinfo) == ("NoSuchEntity", 404)
    unassigned = iam.create_virtual_mfa_device(VirtualMFADeviceName="spare")["VirtualMFADevice"]
    with pytest.raises(ClientError) as excinfo:
        resync(-1, 0, serial_number=unassigned["SerialNumber"])
    assert aws_error(excinfo) == ("NoSuchEntity", 404)


@pytest.mark.usefixtures("aws")
def test_session_token_refuses_used_codes_and_accepts_next(clock: Clock) -> None:
    """A code used to enable (or once before) is refused; the next step's code works."""
    iam, sts, serial, seed_b32 = _new_person()
    _enable(iam, serial, seed_b32, first_step=-1)
    for used in (-1, 0):
        with pytest.raises(ClientError) as excinfo:
            sts.get_session_token(SerialNumber=serial, TokenCode=emulator_code(seed_b32, used))
        assert aws_error(excinfo) == ("AccessDenied", 403)
        assert excinfo.value.response["Error"]["Message"].startswith("MultiFactorAuthentication failed")

    clock.shift(30)
    sts.get_session_token(SerialNumber=serial, TokenCode=emulator_code(seed_b32))
    with pytest.raises(ClientError) as excinfo:
        sts.get_session_token(SerialNumber=serial, TokenCode=emulator_code(seed_b32))
    assert aws_error(excinfo) == ("AccessDenied", 403)
    # A code from the next step (clock skew) is fine; one two steps ahead is not yet.
    with pytest.raises(ClientError):
        sts.get_session_token(SerialNumber=serial, TokenCode=emulator_code(seed_b32, 2))
    sts.get_session_token(SerialNumber=serial, TokenCode=emulator_code(seed_b32, 1))


@pytest.mark.usefixtures("aws")
def test_session_token_rejects_wrong_serial(clock: Clock) -> None:
    """A user ARN or someone else's device as serial is AccessDenied."""
    iam, sts, serial, seed_b32 = _new_person()
    _enable(iam, serial, seed_b32)
    clock.shift(30)
    other_iam, _, other_serial, other_seed = _new_person("sam.roe")
    _enable(other_iam, other_serial, other_seed, name="sam.roe")
    clock.shift(30)
    user_arn = f"arn:aws:iam::{ACCOUNT}:user/pat.doe"
    for wrong_serial, code in [
        (user_arn, emulator_code(seed_b32)),
        (other_serial, emulator_code(other_seed)),
    ]:
        with pytest.raises(ClientError) as excinfo:
            sts.get_session_token(SerialNumber=wrong_serial, TokenCode=code)
        assert aws_error(excinfo) == ("AccessDenied", 403)
    sts.get_session_token(SerialNumber=serial, TokenCode=emulator_code(seed_b32))


@pytest.mark.usefixtures("aws")
def test_session_credentials_are_fresh_and_resolve_to_the_user(clock: Clock) -> None:
    """Each call mints new credentials that identify the user until they expire."""
    _, sts, _, _ = _new_person()
    first, second = (sts.get_session_token(DurationSeconds=900)["Credentials"] for _ in range(2))
    assert first["AccessKeyId"] != second["AccessKeyId"]
    assert first["SessionToken"] != second["SessionToken"]
    for creds in (first, second):
        assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
        assert creds["AccessKeyId"][4:].isalnum() and creds["AccessKeyId"].isupper()
        assert len(creds["SecretAccessKey"]) == 40 and len(creds["SessionToken"]) > 300
        assert creds["Expiration"].timestamp() == pytest.approx(clock.now() + 900, abs=1)

    _, session_sts = clients(first["AccessKeyId"], first["SecretAccessKey"], first["SessionToken"])
    assert session_sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/pat.doe"
    with pytest.raises(ClientError) as excinfo:
        session_sts.get_session_token()
    assert aws_error(excinfo) == ("AccessDenied", 403)
    clock.shift(901)
    with pytest.raises(ClientError) as excinfo:
        session_sts.get_caller_identity()
    assert aws_error(excinfo) == ("ExpiredToken", 403)


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("duration", [899, 129_601])
def test_session_duration_is_validated(duration: int) -> None:
    """Durations outside 900..129600 seconds are a ValidationError."""
    admin = boto3.client("iam")
    admin.create_user(UserName="pat.doe")
    key = admin.create_access_key(UserName="pat.doe")["AccessKey"]
    # botocore checks the minimum itself; turn that off to see what the server says.
    sts = boto3.client(
        "sts",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        config=Config(parameter_validation=False),
    )
    with pytest.raises(ClientError) as excinfo:
        sts.get_session_token(DurationSeconds=duration)
    assert aws_error(excinfo)[0] == "ValidationError"


@pytest.mark.usefixtures("aws")
def test_caller_identity_rejects_unknown_and_inactive_keys() -> None:
    """Keys nobody issued, or deactivated ones, are InvalidClientTokenId."""
    users = {u.name: u for u in seed.seed_demo(policy_text("force-mfa"), extra_users=0)}
    hire = users["new.hire"]
    _, sts = clients(hire.access_key_id, hire.secret_access_key)
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/new.hire"
    _, stranger = clients("AKIAIOSFODNN7EXAMPLE", "x" * 40)
    with pytest.raises(ClientError) as excinfo:
        stranger.get_caller_identity()
    assert aws_error(excinfo) == ("InvalidClientTokenId", 403)
    assert excinfo.value.response["Error"]["Message"] == "The security token included in the request is invalid."
    boto3.client("iam").update_access_key(UserName="new.hire", AccessKeyId=hire.access_key_id, Status="Inactive")
    with pytest.raises(ClientError) as excinfo:
        sts.get_caller_identity()
    assert aws_error(excinfo) == ("InvalidClientTokenId", 403)


@pytest.mark.usefixtures("aws")
def test_seed_demo_builds_the_named_states() -> None:
    """The demo account holds the four named users in their states, and a realistic crowd."""
    users = seed.seed_demo(policy_text("force-mfa"), extra_users=300)
    named = {u.name: u for u in users[:4]}
    assert list(named) == ["new.hire", "stale.device", "enrolled.user", "admin"]
    iam = boto3.client("iam")
    assert iam.list_account_aliases()["AccountAliases"] == ["demo-corp"]

    unassigned = iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned", MaxItems=1000)["VirtualMFADevices"]
    assert f"arn:aws:iam::{ACCOUNT}:mfa/stale.device" in {d["SerialNumber"] for d in unassigned}
    assert iam.list_mfa_devices(UserName="stale.device")["MFADevices"] == []
    assert iam.list_mfa_devices(UserName="new.hire")["MFADevices"] == []
    assert named["new.hire"].mfa_seed is None
    for name in ("enrolled.user", "admin"):
        devices = iam.list_mfa_devices(UserName=name)["MFADevices"]
        assert [d["SerialNumber"] for d in devices] == [f"arn:aws:iam::{ACCOUNT}:mfa/{name}"]

    members = {
        g: {u["UserName"] for u in iam.get_group(GroupName=g)["Users"]} for g in ("mfa-required", "portal-admins")
    }
    assert {"new.hire", "stale.device", "enrolled.user", "admin"} <= members["mfa-required"]
    assert members["portal-admins"] == {"admin"}
    attached = iam.list_attached_group_policies(GroupName="mfa-required")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == [seed.FORCE_MFA_POLICY_NAME]
    attached = iam.list_attached_group_policies(GroupName="portal-admins")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == [seed.ADMIN_POLICY_NAME]

    # The returned seed really drives the device: the enrolled user can get a session.
    enrolled = named["enrolled.user"]
    _, sts = clients(enrolled.access_key_id, enrolled.secret_access_key)
    serial = f"arn:aws:iam::{ACCOUNT}:mfa/enrolled.user"
    sts.get_session_token(SerialNumber=serial, TokenCode=emulator_code(enrolled.mfa_seed))

    extras = users[4:]
    assert len({u.name for u in extras}) == 300 and all("." in u.name for u in extras)
    roles = [u.role for u in extras]
    assert 0.6 < roles.count("enrolled") / 300 < 0.8 and roles.count("abandoned device") > 3
    assert 10 < sum(not u.groups for u in extras) < 60
    force_arn = f"arn:aws:iam::{ACCOUNT}:policy/{seed.FORCE_MFA_POLICY_NAME}"
    assert iam.list_entities_for_policy(PolicyArn=force_arn)["PolicyUsers"]
    report_users = seed.backend().users.values()
    assert 0.25 < sum(bool(u.password) for u in report_users) / len(report_users) < 0.55


@pytest.mark.usefixtures("aws")
def test_seed_demo_is_deterministic() -> None:
    """The same rng seed gives the same people."""
    first = [(u.name, u.role, u.groups) for u in seed.seed_demo(policy_text("force-mfa"), extra_users=50)]
    seed.reset()
    second = [(u.name, u.role, u.groups) for u in seed.seed_demo(policy_text("force-mfa"), extra_users=50)]
    assert first == second


@pytest.mark.usefixtures("aws")
def test_seed_population_counts() -> None:
    """The benchmark population has exactly the asked-for counts (bench/admin_refresh.py times it)."""
    seed.seed_population(5000, 4000, 200)
    iam = seed.backend()
    devices = iam.virtual_mfa_devices.values()
    assert len(iam.users) == 5000
    assert sum(d.enable_date is not None for d in devices) == 4000
    assert sum(d.enable_date is None for d in devices) == 200
    assert sum(bool(u.mfa_devices) for u in iam.users.values()) == 4000
    page = boto3.client("iam").list_virtual_mfa_devices(AssignmentStatus="Unassigned", MaxItems=1000)
    assert len(page["VirtualMFADevices"]) == 200


def test_threaded_server_end_to_end(clock: Clock) -> None:
    """Over HTTP, the threaded server enforces the same checks."""
    seed.reset()
    emu = emulator.start()
    try:
        assert emu.endpoint_url.startswith("http://127.0.0.1:")
        users = {u.name: u for u in seed.seed_demo(policy_text("force-mfa"), extra_users=0)}
        hire = users["new.hire"]
        iam, sts = clients(hire.access_key_id, hire.secret_access_key, endpoint_url=emu.endpoint_url)
        assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/new.hire"
        device = iam.create_virtual_mfa_device(VirtualMFADeviceName="new.hire")["VirtualMFADevice"]
        serial, seed_b32 = device["SerialNumber"], device["Base32StringSeed"].decode()
        with pytest.raises(ClientError) as excinfo:
            _enable(iam, serial, seed_b32, first_step=-5, name="new.hire")
        assert aws_error(excinfo) == ("InvalidAuthenticationCode", 403)
        _enable(iam, serial, seed_b32, name="new.hire")
        with pytest.raises(ClientError) as excinfo:
            sts.get_session_token(SerialNumber=serial, TokenCode=emulator_code(seed_b32))
        assert aws_error(excinfo) == ("AccessDenied", 403)
        creds = sts.get_session_token(SerialNumber=serial, TokenCode=emulator_code(seed_b32, 1))["Credentials"]
        _, session_sts = clients(
            creds["AccessKeyId"],
            creds["SecretAccessKey"],
            creds["SessionToken"],
            emu.endpoint_url,
        )
        assert session_sts.get_caller_identity()["Arn"].endswith(":user/new.hire")
        _, stranger = clients("AKIAIOSFODNN7EXAMPLE", "x" * 40, endpoint_url=emu.endpoint_url)
        with pytest.raises(ClientError) as excinfo:
            stranger.get_caller_identity()
        assert aws_error(excinfo) == ("InvalidClientTokenId", 403)
    finally:
        emu.stop()
        seed.reset()


def test_command_line_serves_until_sigterm() -> None:
    """The command line prints one JSON line, serves, and exits cleanly on SIGTERM."""
    process = subprocess.Popen(
        [sys.executable, "-m", "app.demo.emulator", "--port", "0", "--seed-users", "3"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        started = json.loads(process.stdout.readline())
        assert [u["name"] for u in started["users"]][:4] == [
            "new.hire",
            "stale.device",
            "enrolled.user",
            "admin",
        ]
        assert len(started["users"]) == 7
        hire = started["users"][0]
        _, sts = clients(
            hire["access_key_id"],
            hire["secret_access_key"],
            endpoint_url=started["endpoint_url"],
        )
        assert sts.get_caller_identity()["Arn"].endswith(":user/new.hire")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()


def test_credential_report_carries_the_time_it_was_made(aws, clock):
    """moto stamps every report 2015-02-02; the admin dashboard shows this time as the report's age."""
    from datetime import UTC, datetime

    iam = boto3.client("iam")
    iam.generate_credential_report()
    generated = iam.get_credential_report()["GeneratedTime"]
    assert generated == datetime.fromtimestamp(int(clock.now()), UTC)

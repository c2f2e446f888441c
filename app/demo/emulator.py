"""An embedded AWS emulator: moto, patched to check MFA codes and keys the way AWS does."""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import signal
import string
import threading
import time
from dataclasses import asdict
from datetime import UTC, datetime
from urllib.parse import urlparse

import pyotp
from moto.core.responses import ActionResult, BaseResponse, EmptyResult
from moto.core.serialize import never_return
from moto.core.utils import camelcase_to_underscores
from moto.iam.access_control import IAMRequest
from moto.iam.exceptions import EntityAlreadyExists, IAMException, NotFoundException
from moto.iam.models import IAMBackend, User, VirtualMfaDevice, iam_backends
from moto.iam.responses import IamResponse
from moto.server import ThreadedMotoServer
from moto.sts.exceptions import STSValidationError
from moto.sts.responses import TokenResponse

from app import policy
from app.demo import own_credentials, seed
from app.demo.hardware import hardware_token
from app.demo.signers import Session, StsError, invalid_token, session_user, sessions, user_for_key
from app.policy import policy_text

STEP_SECONDS = 30
# Windows of TOTP time steps, relative to now, in which a code is accepted.
ENABLE_WINDOW = (-2, 1)
RESYNC_WINDOW = (-10, 2)
SESSION_WINDOW = (-1, 1)
MIN_SESSION_SECONDS = 900
MAX_SESSION_SECONDS = 129_600
DEFAULT_SESSION_SECONDS = 43_200

_KEY_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"
_LISTED_DEVICE = "ListVirtualMFADevicesResponse.VirtualMFADevices.VirtualMFADevice"

# moto's own handlers, kept so patched ones can delegate once the checks pass.
_moto_enable_mfa_device = IamResponse.enable_mfa_device
_moto_get_caller_identity = TokenResponse.get_caller_identity
_moto_assume_role = TokenResponse.assume_role
_moto_authorize = BaseResponse._authenticate_and_authorize_normal_action

# Check-and-mark of used codes must be atomic: the threaded server runs requests in parallel.
_lock = threading.Lock()
_installed = False


def _current_step() -> int:
    """Return the TOTP time step for now."""
    return int(time.time()) // STEP_SECONDS


def current_code(seed_b32: str, offset_steps: int = 0) -> str:
    """Return the six-digit code an authenticator app shows now (or offset_steps steps away)."""
    return pyotp.TOTP(seed_b32).generate_otp(_current_step() + offset_steps)


def _steps(window: tuple[int, int]) -> range:
    """Return the absolute time steps a window relative to now covers."""
    now = _current_step()
    return range(now + window[0], now + window[1] + 1)


def _consecutive_step(seed_b32: str, code1: str, code2: str, window: tuple[int, int]) -> int | None:
    """Return the step of code1 when code1 and code2 are consecutive codes starting in window."""
    totp = pyotp.TOTP(seed_b32)
    for step in _steps(window):
        if totp.generate_otp(step) == code1 and totp.generate_otp(step + 1) == code2:
            return step
    return None


def _mark_used(device: VirtualMfaDevice, step: int) -> None:
    """Remember the highest step used on the device, as AWS refuses a code twice."""
    device.highest_used_step = max(getattr(device, "highest_used_step", step), step)


def _invalid_code() -> IAMException:
    """Return the IAM error for codes that are wrong, stale or not consecutive."""
    return IAMException("InvalidAuthenticationCode", "Authentication code for device is not valid.")


def _mfa_failed() -> StsError:
    """Return the error AWS gives for a wrong, reused or foreign MFA code or serial."""
    return StsError(
        403,
        "AccessDenied",
        "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
    )


def _enable_mfa_device(self: IamResponse) -> ActionResult:
    """EnableMFADevice that insists on two consecutive current codes of the device's seed."""
    serial = self._get_param("SerialNumber")
    # An unknown user is NoSuchEntity before anything is said about the codes.
    self.backend.get_user(self._get_param("UserName"))
    device = self.backend.virtual_mfa_devices.get(serial) or hardware_token(serial)
    if device is None:
        raise NotFoundException(f"VirtualMFADevice with serial number {serial} doesn't exist.")
    holder = next((u for u in self.backend.users.values() if serial in u.mfa_devices), None)
    if holder is not None and holder.name != self._get_param("UserName"):
        # One device, one user: AWS refuses a token (hardware or virtual) another user has enabled.
        raise EntityAlreadyExists("MFA Device is already in use.")
    step = _consecutive_step(
        device.base32_string_seed,
        self._get_param("AuthenticationCode1"),
        self._get_param("AuthenticationCode2"),
        ENABLE_WINDOW,
    )
    if step is None:
        raise _invalid_code()
    result = _moto_enable_mfa_device(self)
    with _lock:
        _mark_used(device, step + 1)
    return result


def _resync_mfa_device(self: IamResponse) -> ActionResult:
    """ResyncMFADevice (moto has none): two consecutive codes within a wider window."""
    user = self.backend.get_user(self._get_param("UserName"))
    serial = self._get_param("SerialNumber")
    device = self.backend.virtual_mfa_devices.get(serial)
    if device is None or serial not in user.mfa_devices:
        raise NotFoundException(f"MFA Device with serial number {serial} does not exist.")
    step = _consecutive_step(
        device.base32_string_seed,
        self._get_param("AuthenticationCode1"),
        self._get_param("AuthenticationCode2"),
        RESYNC_WINDOW,
    )
    if step is None:
        raise _invalid_code()
    with _lock:
        _mark_used(device, step + 1)
    return EmptyResult()


def _check_mfa(iam: IAMBackend, user: User, serial: str | None, code: str | None) -> None:
    """Accept a current, unused code of an MFA device enabled for this user, and mark it used."""
    device = iam.virtual_mfa_devices.get(serial or "") or hardware_token(serial)
    if device is None or serial not in user.mfa_devices or not code:
        raise _mfa_failed()
    totp = pyotp.TOTP(device.base32_string_seed)
    with _lock:
        highest = getattr(device, "highest_used_step", None)
        for step in _steps(SESSION_WINDOW):
            if (highest is None or step > highest) and totp.generate_otp(step) == code:
                _mark_used(device, step)
                return
    raise _mfa_failed()


def _issue_session(account_id: str, partition: str, user: User, duration: int, mfa: bool) -> dict[str, object]:
    """Mint fresh session credentials for a user and remember whose they are, and whether MFA made them."""
    access_key_id = "ASIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
    expiration = datetime.fromtimestamp(time.time() + duration, tz=UTC)
    sessions[access_key_id] = Session(account_id, partition, user.name, user.id, expiration, mfa)
    return {
        "AccessKeyId": access_key_id,
        "SecretAccessKey": "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40)),
        "SessionToken": base64.b64encode(secrets.token_bytes(300)).decode(),
        "Expiration": expiration,
    }


def _get_session_token(self: TokenResponse) -> ActionResult:
    """GetSessionToken that checks the caller, the MFA code and the duration like AWS."""
    duration = self._get_int_param("DurationSeconds", DEFAULT_SESSION_SECONDS)
    if not MIN_SESSION_SECONDS <= duration <= MAX_SESSION_SECONDS:
        bound = "greater than or equal to 900" if duration < MIN_SESSION_SECONDS else "less than or equal to 129600"
        raise STSValidationError(
            f"1 validation error detected: Value '{duration}' at 'durationSeconds' "
            f"failed to satisfy constraint: Member must have value {bound}"
        )
    access_key_id = self.get_access_key()
    if access_key_id in sessions:
        raise StsError(403, "AccessDenied", "Cannot call GetSessionToken with session credentials")
    iam = iam_backends[self.current_account][self.partition]
    user = user_for_key(iam, access_key_id)
    if user is None:
        raise invalid_token()
    serial = self._get_param("SerialNumber")
    code = self._get_param("TokenCode")
    if serial or code:
        _check_mfa(iam, user, serial, code)
    credentials = _issue_session(self.current_account, self.partition, user, duration, mfa=bool(serial or code))
    return ActionResult({"Credentials": credentials})


def _get_caller_identity(self: TokenResponse) -> ActionResult:
    """GetCallerIdentity that knows session keys and rejects keys nobody issued."""
    access_key_id = self.get_access_key()
    session = sessions.get(access_key_id)
    if session is not None:
        user = session_user(session)
        if user is None:
            raise invalid_token()
        if session.expiration.timestamp() <= time.time():
            raise StsError(
                403,
                "ExpiredToken",
                "The security token included in the request is expired",
            )
        return ActionResult({"UserId": user.id, "Account": user.account_id, "Arn": user.arn})
    iam = iam_backends[self.current_account][self.partition]
    role = self.backend.get_assumed_role_from_access_key(access_key_id)
    if role is None and user_for_key(iam, access_key_id) is None:
        raise invalid_token()
    if role is None:
        _check_signature(self)
    return _moto_get_caller_identity(self)


def _check_signature(self: TokenResponse) -> None:
    """Refuse a right key ID with a wrong secret (SignatureDoesNotMatch), as AWS does."""
    query = urlparse(self.uri).query
    IAMRequest(account_id=self.current_account, method=self.method, path=self.raw_path + ("?" + query if query else ""),
               data=self.data, body=self.raw_body, headers=self.headers,
               action=self._get_action()).check_signature()


def _signer(response: BaseResponse) -> tuple[User, bool] | None:
    """Return the IAM user whose key signed this request and whether it carries MFA; None for anyone else."""
    access_key_id = response.get_access_key()
    session = sessions.get(access_key_id)
    if session is not None:
        user = session_user(session)
        return (user, session.mfa) if user is not None else None
    iam = iam_backends[response.current_account].get(getattr(response, "partition", "aws"))
    user = user_for_key(iam, access_key_id) if iam is not None else None
    return (user, False) if user is not None else None


def _identity_policies(iam: IAMBackend, user: User) -> list[dict]:
    """Every identity policy document that applies to a user: inline and attached, the user's and their groups'."""
    holders = [user, *iam.get_groups_for_user(user.name)]
    documents = [text for holder in holders for text in holder.policies.values()]
    for holder in holders:
        for managed in holder.managed_policies.values():
            documents += [v.document for v in managed.versions if v.is_default_version]
    return [json.loads(text) if isinstance(text, str) else text for text in documents]


def _explicit_deny(response: BaseResponse, user: User, mfa: bool, service: str, operation: str) -> None:
    """Refuse the request when one of the user's policies denies it (the force-MFA policy without MFA, say).

    Only explicit denies are enforced: moto allows what no policy allows, and the demo's admin and users
    rely on that. An explicit deny is what makes AWS refuse a long-term key everything but enrollment.
    """
    who = policy.Principal(getattr(response, "partition", "aws"), user.account_id, user.name, mfa, user.path)
    params = {name: values[0] for name, values in response.querystring.items() if values}
    try:
        needs = policy.authorizations_of(policy.Call(service, operation, params), who)
    except (policy.UnmappedCall, KeyError):
        needs = [(f"{service}:{operation}", ["*"])]
    iam = iam_backends[user.account_id][who.partition]
    for document in _identity_policies(iam, user):
        for action, resources in needs:
            decision = policy.evaluate(document, action, resources, who)
            if decision.reason.startswith("explicit deny"):
                raise StsError(403, "AccessDenied", f"User: {user.arn} is not authorized to perform: {action} on "
                                f"resource: {resources[0]} with an explicit deny in an identity-based policy")


def _authorize(self: BaseResponse, resource: str = "*") -> None:
    """Judge every request an IAM user signs against their identity policies' denies, then as moto would."""
    service, operation = getattr(self, "service_name", None), self._get_action()
    # The patched AssumeRole judges its own request: an accepted code there adds MFA to the request context.
    # (Named through the handler, not as a string: tools/aws_data ships models for operations app/ names.)
    if service and operation and getattr(type(self), camelcase_to_underscores(operation), None) is not _assume_role:
        signer = _signer(self)
        if signer is not None:
            _explicit_deny(self, signer[0], signer[1], service, operation)
    _moto_authorize(self, resource)


def _assume_role(self: TokenResponse) -> ActionResult:
    """AssumeRole that checks the MFA code it is given, and a trust policy's demand for MFA, as AWS does."""
    signer = _signer(self)
    if signer is not None:
        user, mfa = signer
        serial, code = self._get_param("SerialNumber"), self._get_param("TokenCode")
        if serial or code:
            _check_mfa(iam_backends[self.current_account][self.partition], user, serial, code)
            mfa = True  # the request context carries aws:MultiFactorAuthPresent once the code is accepted
        _explicit_deny(self, user, mfa, "sts", self._get_action())
        _trust_needs_mfa(self, user, mfa)
    return _moto_assume_role(self)


def _trust_needs_mfa(self: TokenResponse, user: User, mfa: bool) -> None:
    """Refuse a role whose trust policy asks for MFA when the request carries none."""
    arn = self._get_param("RoleArn") or ""
    iam = iam_backends[self.current_account][self.partition]
    role = next((r for r in iam.roles.values() if r.arn == arn), None)
    trust = str(getattr(role, "assume_role_policy_document", "") or "")
    if not mfa and "multifactorauthpresent" in trust.lower():
        raise StsError(403, "AccessDenied", f"User: {user.arn} is not authorized to perform: "
                        f"sts:{self._get_action()} on resource: {arn}")


def _get_credential_report(self: IamResponse) -> ActionResult:
    """GetCredentialReport stamped with the time it was read, not moto's fixed 2015 date."""
    result = {"Content": self.backend.get_credential_report(), "ReportFormat": "text/csv",
              "GeneratedTime": datetime.fromtimestamp(time.time(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    return ActionResult(result)


def install_aws_checks() -> None:
    """Patch moto's IAM and STS handlers to check MFA codes and keys as AWS does (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        # Patching the response classes covers both mock_aws() and the threaded server.
        IamResponse.enable_mfa_device = _enable_mfa_device
        IamResponse.resync_mfa_device = _resync_mfa_device
        TokenResponse.get_session_token = _get_session_token
        TokenResponse.get_caller_identity = _get_caller_identity
        TokenResponse.assume_role = _assume_role
        BaseResponse._authenticate_and_authorize_normal_action = _authorize
        IamResponse.get_credential_report = _get_credential_report
        own_credentials.install()
        # AWS returns a seed and QR code only from CreateVirtualMFADevice; moto lists them.
        IamResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER = {
            **IamResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER,
            f"{_LISTED_DEVICE}.Base32StringSeed": never_return,
            f"{_LISTED_DEVICE}.QRCodePNG": never_return,
        }
        _installed = True


class Emulator:
    """A running moto server on 127.0.0.1 with the AWS checks installed."""

    def __init__(self, server: ThreadedMotoServer) -> None:
        """Wrap a started server."""
        self._server = server
        host, port = server.get_host_and_port()
        self.port = port
        self.endpoint_url = f"http://{host}:{port}"

    def stop(self) -> None:
        """Shut the server down and wait for its thread."""
        self._server.stop()


def start(port: int = 0) -> Emulator:
    """Start the emulator; port 0 lets the OS pick a free port without a race."""
    install_aws_checks()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return Emulator(server)


def main(argv: list[str] | None = None) -> None:
    """Start and seed the emulator, print one JSON line about it, serve until signalled."""
    parser = argparse.ArgumentParser(prog="python -m app.demo.emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--seed-users",
        type=int,
        default=300,
        help="generated users besides the named ones",
    )
    parser.add_argument("--rng-seed", type=int, default=7)
    args = parser.parse_args(argv)

    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())

    emulator = start(args.port)
    users = seed.seed_demo(
        policy_text("force-mfa"),
        extra_users=args.seed_users,
        rng_seed=args.rng_seed,
        admin_policy_document=policy_text("admin"),
    )
    print(
        json.dumps({"endpoint_url": emulator.endpoint_url, "users": [asdict(u) for u in users]}),
        flush=True,
    )
    stopping.wait()
    emulator.stop()


if __name__ == "__main__":
    # Run as `python -m`, this file is `__main__`: a second copy beside the `app.demo.emulator` that tests and
    # the demo import, with its own install flag. Start the one copy everything else imports.
    from app.demo.emulator import main as _main

    _main()

"""Emulator patches for self-service credentials, where moto 5.2.5 lacks a call or is laxer than AWS."""

from __future__ import annotations

import base64
import hashlib
import threading

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key, load_ssh_public_key
from moto.core.responses import ActionResult, EmptyResult
from moto.iam.exceptions import IAMException, NotFoundException
from moto.iam.models import User
from moto.iam.responses import IamResponse

from app.demo.signers import StsError, caller, invalid_token

SSH_KEYS_PER_USER = 5
_SYMBOLS = set("!@#$%^&*()_+-=[]{}|'")
_lock = threading.Lock()  # AWS checks quotas atomically; moto's check-then-append is not
_moto = {name: getattr(IamResponse, name) for name in (
    "create_access_key", "create_login_profile", "update_login_profile", "upload_ssh_public_key")}


def _caller(self: IamResponse) -> User:
    """Return the IAM user whose long-term or session key signed this request."""
    user = caller(self.backend, self.get_access_key())
    if user is None:
        raise invalid_token()
    return user


def _policy_violation(self: IamResponse, user: User, password: str) -> str | None:
    """Say which rule of the account's password policy (or AWS's default one) a password breaks."""
    policy = self.backend.account_password_policy
    classes = [any(c.isupper() for c in password), any(c.islower() for c in password),
               any(c.isdigit() for c in password), any(c in _SYMBOLS for c in password)]
    if policy is None:
        if len(password) < 8 or sum(classes) < 3:
            return "at least 8 characters and three of: upper case, lower case, digits, symbols"
        return None
    wanted = [policy.require_uppercase_characters, policy.require_lowercase_characters,
              policy.require_numbers, policy.require_symbols]
    missing = any(w and not c for w, c in zip(wanted, classes, strict=True))
    if len(password) < (policy.minimum_password_length or 6) or missing:
        return "the account's password policy"
    remembered = policy.password_reuse_prevention or 0
    digest = hashlib.sha256(password.encode()).hexdigest()
    if remembered and digest in getattr(user, "previous_passwords", [])[-remembered:]:
        return "password reuse prevention"
    return None


def _violation_error(rule: str) -> IAMException:
    """Return AWS's error for a password the policy refuses."""
    return IAMException("PasswordPolicyViolation",
                        f"Password does not conform to the account password policy ({rule}).")


def _remember(user: User, password: str) -> None:
    """Keep a hash of the password for reuse prevention (the emulator's only copy besides moto's own)."""
    user.previous_passwords = [*getattr(user, "previous_passwords", []),
                               hashlib.sha256(password.encode()).hexdigest()][-24:]


def _create_access_key(self: IamResponse) -> ActionResult:
    """CreateAccessKey whose two-key quota holds under concurrent requests, as in AWS."""
    with _lock:
        return _moto["create_access_key"](self)


def _set_password(self: IamResponse, handler: str) -> ActionResult:
    """CreateLoginProfile / UpdateLoginProfile that enforce the password policy, as AWS does and moto does not."""
    user = self.backend.get_user(self._get_param("UserName") or _caller(self).name)
    password = self._get_param("Password")
    if password is not None:
        rule = _policy_violation(self, user, password)
        if rule:
            raise _violation_error(rule)
    result = _moto[handler](self)
    if password is not None:
        _remember(user, password)
    return result


def _change_password(self: IamResponse) -> ActionResult:
    """ChangePassword (moto has none): the caller's own password, old one checked, new one against the policy."""
    user = _caller(self)
    if not user.password:
        raise NotFoundException(f"Login Profile for User {user.name} cannot be found.")
    if self._get_param("OldPassword") != user.password:
        # IAM's model has no AccessDenied shape, so moto's own exceptions would warn; STS's error carries it.
        raise StsError(403, "AccessDenied", "The old password is incorrect.")
    new = self._get_param("NewPassword")
    rule = _policy_violation(self, user, new)
    if rule:
        raise _violation_error(rule)
    user.password = new
    _remember(user, new)
    return EmptyResult()


def _ssh_key_problem(body: str) -> IAMException | None:
    """Check an SSH public key the way IAM does: ssh-rsa or PEM, RSA of at least 2048 bits."""
    text = (body or "").strip()
    try:
        if text.startswith("ssh-rsa "):
            key = load_ssh_public_key(text.encode())
        elif text.startswith("-----BEGIN PUBLIC KEY-----"):
            key = load_pem_public_key(text.encode())
        else:
            return IAMException("UnrecognizedPublicKeyEncoding",
                                "The public key encoding format is unsupported or unrecognized.")
    except (ValueError, TypeError):
        return IAMException("InvalidPublicKey", "The public key is malformed or otherwise invalid.")
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < 2048:
        return IAMException("InvalidPublicKey", "The public key is malformed or otherwise invalid.")
    return None


def _fingerprint(body: str) -> str:
    """Return the MD5 fingerprint AWS shows (of the key material, not the comment)."""
    parts = body.split()
    material = base64.b64decode(parts[1]) if parts[0] == "ssh-rsa" else body.encode()
    return hashlib.md5(material, usedforsecurity=False).hexdigest()


def _upload_ssh_public_key(self: IamResponse) -> ActionResult:
    """UploadSSHPublicKey with AWS's format, size, duplicate and five-key checks."""
    user = self.backend.get_user(self._get_param("UserName"))
    body = self._get_param("SSHPublicKeyBody")
    problem = _ssh_key_problem(body)
    if problem:
        raise problem
    with _lock:
        if any(_fingerprint(k.ssh_public_key_body) == _fingerprint(body) for k in user.ssh_public_keys
               if not _ssh_key_problem(k.ssh_public_key_body)):
            raise IAMException("DuplicateSSHPublicKey", "The SSH public key is already associated with the user.")
        if len(user.ssh_public_keys) >= SSH_KEYS_PER_USER:
            raise IAMException("LimitExceeded", "Cannot exceed quota for SSHPublicKeysPerUser: 5")
        return _moto["upload_ssh_public_key"](self)


def install() -> None:
    """Patch moto's IAM handlers (called once by the emulator's install_aws_checks)."""
    IamResponse.create_access_key = _create_access_key
    IamResponse.create_login_profile = lambda self: _set_password(self, "create_login_profile")
    IamResponse.update_login_profile = lambda self: _set_password(self, "update_login_profile")
    IamResponse.change_password = _change_password
    IamResponse.upload_ssh_public_key = _upload_ssh_public_key

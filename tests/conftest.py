"""Shared fixtures: an in-process AWS emulator, the app, and a person who walks the flows."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import boto3
import pyotp
import pytest
from cachelib import FileSystemCache
from moto import mock_aws

from app import create_app
from app.demo.emulator import install_aws_checks
from app.policy import policy_text

ACCOUNT = "123456789012"


@pytest.fixture(autouse=True)
def fake_aws_env(monkeypatch, tmp_path):
    """Never let a test find real AWS credentials or a real endpoint."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "DATABASE_URL", "REDIS_URL", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))


@pytest.fixture
def moto():
    """An in-process emulator that checks MFA codes the way AWS does."""
    with mock_aws():
        install_aws_checks()
        yield


@pytest.fixture
def iam(moto):
    """An emulator-side IAM client for arranging accounts (not the portal's)."""
    client = boto3.client("iam", region_name="us-east-1")
    policy = client.create_policy(PolicyName="ForceMFA", PolicyDocument=policy_text("force-mfa"))
    client.create_group(GroupName="mfa-required")
    client.attach_group_policy(GroupName="mfa-required", PolicyArn=policy["Policy"]["Arn"])
    client.create_account_alias(AccountAlias="acme-test")
    return client


@dataclass
class AwsUser:
    """An IAM user with its long-term key pair."""

    name: str
    access_key_id: str
    secret_access_key: str


@pytest.fixture
def make_user(iam):
    """Create an IAM user under the force-MFA policy and return its keys."""

    def make(name: str = "new.hire", path: str = "/") -> AwsUser:
        iam.create_user(UserName=name, Path=path)
        iam.add_user_to_group(GroupName="mfa-required", UserName=name)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return AwsUser(name, key["AccessKeyId"], key["SecretAccessKey"])

    return make


def make_test_app(tmp_path, **overrides):
    """Build an app with test settings and its own database and session folder."""
    config = {
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/portal.sqlite",
        "SESSION_TYPE": "cachelib",
        "SESSION_CACHELIB": FileSystemCache(str(tmp_path / "sessions"), mode=0o600),
        "RATELIMIT_ENABLED": False,
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture
def app(moto, tmp_path):
    """The portal, talking to the in-process emulator."""
    return make_test_app(tmp_path)


@pytest.fixture
def client(app):
    """A browser-like test client."""
    return app.test_client()


def code(seed: str, offset: int = 0) -> str:
    """The code an authenticator app shows `offset` steps from now."""
    return pyotp.TOTP(seed).at(time.time() + 30 * offset)


class Person:
    """Walks the portal like a person: signs in, enrolls, gets credentials."""

    def __init__(self, client, user: AwsUser):
        self.client = client
        self.user = user
        self.seed: str | None = None

    def sign_in(self, key_id: str | None = None, secret: str | None = None, follow: bool = True):
        """Submit the sign-in form."""
        return self.client.post("/login", data={"access_key_id": key_id or self.user.access_key_id,
                                                "secret_access_key": secret or self.user.secret_access_key},
                                follow_redirects=follow)

    def start_enrollment(self):
        """Create the device and read the manual key from the scan page."""
        page = self.client.post("/enroll/start", follow_redirects=True)
        match = re.search(r'<code id="manual-key">([A-Z2-7 ]+)</code>', page.get_data(as_text=True))
        assert match, page.get_data(as_text=True)[:2000]
        self.seed = match.group(1).replace(" ", "")
        return page

    def verify(self, first: str | None = None, second: str | None = None, follow: bool = True):
        """Type two consecutive codes (the previous and the current step)."""
        return self.client.post("/enroll/verify", data={"code1": first or code(self.seed, -1),
                                                       "code2": second or code(self.seed, 0)},
                                follow_redirects=follow)

    def get_credentials(self, token: str | None = None, duration: int = 43200, profile: str = "default",
                        follow: bool = True):
        """Type one new code for session credentials."""
        page = self.client.get("/credentials")
        serial = re.search(r'name="device" value="([^"]+)"', page.get_data(as_text=True)).group(1)
        return self.client.post("/credentials", data={"device": serial, "code": token or code(self.seed, 1),
                                                      "duration": str(duration), "profile": profile},
                                follow_redirects=follow)

    def enroll_fully(self):
        """The new hire's whole path: sign in, scan, two codes, one more code."""
        self.sign_in()
        self.start_enrollment()
        self.verify()
        return self.get_credentials()


@pytest.fixture
def person(client, make_user):
    """A new hire without MFA, with a browser."""
    return Person(client, make_user("new.hire"))

"""Shared fixtures: an in-process AWS emulator, the app, and a person who walks the flows."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import boto3
import pyotp
import pytest
import time_machine
from flask.testing import FlaskClient
from moto import mock_aws

from app import aws, create_app
from app.demo.emulator import install_aws_checks
from app.policy import policy_text

ACCOUNT = "123456789012"
# The run ends with one line naming what was skipped and why (PostgreSQL, Redis, Chromium, nginx missing...).
pytest_plugins = ["skip_summary"]


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
        Clock.shift(1)  # the person signs in a moment after the key was handed over, never in the same instant
        return AwsUser(name, key["AccessKeyId"], key["SecretAccessKey"])

    return make


class BufferedClient(FlaskClient):
    """A test client that reads every answer whole and closes it, as a browser does.

    A file response (static files) holds its file open until closed; unread and dropped, it would
    leave an unclosed file behind, which the suite's warnings-as-errors turns into a failure.
    """

    def open(self, *args, buffered: bool = True, **kwargs):
        """Send the request, buffering (and so closing) the response unless told otherwise."""
        return super().open(*args, buffered=buffered, **kwargs)


def make_test_app(tmp_path, **overrides):
    """Build an app with test settings and its own database and session folder."""
    import os

    os.makedirs(tmp_path, exist_ok=True)
    config = {
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/portal.sqlite",
        "RATELIMIT_ENABLED": False,
    }
    config.update(overrides)
    made = create_app(config)
    made.test_client_class = BufferedClient
    return made


@pytest.fixture
def app(moto, tmp_path):
    """The portal, talking to the in-process emulator."""
    return make_test_app(tmp_path)


@pytest.fixture
def client(app):
    """A browser-like test client."""
    return app.test_client()


class Clock:
    """The process's one clock (portal, emulator and the test's authenticator app): frozen, moved only by tests."""

    traveller: time_machine.Coordinates | None = None

    @classmethod
    def now(cls) -> float:
        """Return the shared current time."""
        return time.time()

    @classmethod
    def advance(cls, steps: int = 1) -> None:
        """Jump forward whole 30-second code steps, as if the person waited."""
        cls.shift(30 * steps)

    @classmethod
    def run(cls) -> None:
        """Go back to the real time, running: for retries that wait for it, and processes that read the real one."""
        assert cls.traveller is not None, "the clock fixture is not running"
        cls.traveller.move_to(time_machine.escape_hatch.time.time(), tick=True)

    @classmethod
    def shift(cls, seconds: float) -> None:
        """Move the clock forward by some seconds (idle timeouts, credentials running out)."""
        assert cls.traveller is not None, "the clock fixture is not running"
        cls.traveller.shift(seconds)


@pytest.fixture(autouse=True)
def clock():
    """Freeze the process's clock 5 s into a code step, so no test depends on where the real one is in its step."""
    # time-machine moves time.time() and datetime.now() for every thread here; subprocesses keep the real clock.
    start = (int(time.time()) // 30) * 30 + 5.0
    with time_machine.travel(start, tick=False) as traveller:
        Clock.traveller = traveller
        try:
            yield Clock
        finally:
            Clock.traveller = None
            # botocore's adaptive retries keep a token bucket per client, refilled by time.time(): a client
            # throttled here would wait forever in the next test's frozen time (or hours after a shift back).
            aws._clients.clear()


def code(seed: str, offset: int = 0) -> str:
    """The code an authenticator app shows `offset` steps from now."""
    return pyotp.TOTP(seed).at(Clock.now() + 30 * offset)


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

    def code_here(self, serial: str | None = None, seed: str | None = None) -> dict[str, str]:
        """The device and code fields of a page that asks for a code typed on it, after waiting for a new code."""
        Clock.advance(1)
        return {"device": serial or f"arn:aws:iam::123456789012:mfa/{self.user.name}",
                "code": code(seed or self.seed, 1)}

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


def _service_missing(reason: str):
    """Skip where the machine lacks a service, but never in CI, where it must be there."""
    import os

    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: this test must run, not skip)")
    pytest.skip(reason)


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database on 127.0.0.1 for one test, dropped afterwards."""
    import uuid

    import psycopg

    name = f"mfa_portal_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as err:
        _service_missing(f"PostgreSQL on 127.0.0.1:5432 is not reachable: {err}")
    admin.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def redis_url():
    """The machine's Redis on 127.0.0.1, one database index per xdist worker, cleaned before and after."""
    import os

    import redis

    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or "0"
    # Several checkouts may run their suites on one machine at once: each picks its own pair of databases.
    base = int(os.environ.get("MFA_TEST_REDIS_DB_BASE", "8"))
    url = f"redis://127.0.0.1:6379/{(base + int(worker) % 2) % 16}"
    try:
        connection = redis.Redis.from_url(url, socket_connect_timeout=3)
        connection.ping()
    except redis.RedisError as err:
        _service_missing(f"Redis on 127.0.0.1:6379 is not reachable: {err}")
    connection.flushdb()
    yield url
    connection.flushdb()


@pytest.fixture
def aws_calls():
    """Record every AWS call the portal makes in this test's thread: (service, operation, params, with_mfa_session)."""
    from app import aws

    with aws.watch_calls() as recorded:
        yield recorded


def operations(calls) -> list[str]:
    """Just the operation names of recorded calls."""
    return [operation for _service, operation, _params, _mfa in calls]


@pytest.fixture
def tcp_proxy():
    """Start proxies on 127.0.0.1 in front of a local port (5432, 6379); all stopped at teardown."""
    from tcp_proxy import Proxy

    started: list[Proxy] = []

    def start(port: int) -> Proxy:
        proxy = Proxy(port)
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()

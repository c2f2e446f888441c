"""Two gunicorn instances behind one Redis and one PostgreSQL act as one portal."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
import redis
from limits import parse_many
from pages import assert_page

from app.config import from_environment
from bench._util import ROOT, Browser, Emulator, Server, emulator, free_port, gunicorn

pytestmark = pytest.mark.services

FLOW = ["sign_in", "device_created", "device_enabled", "credentials_issued", "enrollment_completed"]
ENTRYPOINT = str(ROOT / "docker" / "entrypoint.sh")


@dataclass
class Cluster:
    """The shared services and the two instances in front of them."""

    aws: Emulator
    a: Server
    b: Server
    pg_url: str
    redis_url: str


@pytest.fixture
def cluster(tmp_path, pg_url, redis_url, monkeypatch) -> Iterator[Cluster]:
    """An emulator and two instances started at once, the way the Docker image starts them."""
    monkeypatch.setenv("SECRET_KEY", secrets.token_hex(32))  # shared: it signs CSRF tokens and keys the vault
    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("ALLOW_INSECURE_HTTP", "1")  # plain HTTP on loopback in this test
    monkeypatch.setenv("PROXY_HOPS", "1")  # as behind a load balancer: X-Forwarded-For names the client
    aws_port = free_port()
    common = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{aws_port}", "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "4"}
    # Both gunicorn masters upgrade the fresh database at the same moment (the advisory lock makes one
    # wait), then fork workers with AUTO_MIGRATE=0. Separate instance folders: nothing shared through files.
    with emulator(tmp_path, port=aws_port, wait=False) as aws, \
         gunicorn(env={**common, "INSTANCE_PATH": str(tmp_path / "a")}, log=tmp_path / "a.log",
                  command=[ENTRYPOINT], ready_path=None) as a, \
         gunicorn(env={**common, "INSTANCE_PATH": str(tmp_path / "b")}, log=tmp_path / "b.log",
                  command=[ENTRYPOINT], ready_path=None) as b:
        aws.wait_ready()
        a.wait_ready()
        b.wait_ready()
        yield Cluster(aws, a, b, pg_url, redis_url)
        # Stop both masters at once; leaving the with blocks then only waits.
        a.proc.terminate()
        b.proc.terminate()


def _audit_actions(pg_url: str) -> list[str]:
    """Read the audit log straight from PostgreSQL."""
    with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=5) as db:
        return [row[0] for row in db.execute("SELECT action FROM audit_event WHERE outcome <> 'attempt' ORDER BY id")]


def test_two_instances_act_as_one_portal(cluster):
    a, b = cluster.a, cluster.b
    user = cluster.aws.user("new.hire")
    browser = Browser(user, a.url)
    before = {s.url: len(s.served_by()) for s in (a, b)}
    # Sign in on A, create the device on B, verify on A, get credentials on B, download from A.
    result = browser.enroll_fully(instances=[a.url, b.url])
    assert result.status_code == 200, result.text[:2000]
    assert "aws_session_token" in result.text
    for server in (a, b):
        assert len(server.served_by()) > before[server.url] + 2
    assert _audit_actions(cluster.pg_url) == FLOW
    with psycopg.connect(cluster.pg_url.replace("postgresql+psycopg://", "postgresql://")) as db:
        assert db.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
    store = redis.Redis.from_url(cluster.redis_url)
    sessions = store.keys("mfa-portal:session:*")
    assert sessions
    # The shared store holds the keys and the seed only encrypted.
    blob = b"".join(value for key in sessions for value in store.hgetall(key).values())
    assert user["secret_access_key"].encode() not in blob
    assert browser.seed.encode() not in blob

    # Failed sign-ins for one key ID, spread over both instances, use up one shared budget.
    limit = parse_many(from_environment()["SIGN_IN_LIMIT_PER_KEY"])[0]
    # An access key id the emulator does not know: AWS answers InvalidClientTokenId.
    guessed = {"access_key_id": "AKIA" + "Z" * 16, "secret_access_key": "x" * 40}
    stranger = Browser(guessed, a.url, headers={"X-Forwarded-For": "203.0.113.7"})
    statuses = [stranger.sign_in(on=(a.url, b.url)[i % 2]).status_code for i in range(limit.amount)]
    assert all(status in (400, 401, 403) for status in statuses), statuses
    # Each instance saw only half the attempts, yet both now refuse that key, from any address.
    assert_page(stranger.sign_in(on=a.url), 429, "Too many failed sign-ins")
    assert_page(Browser(guessed, b.url, headers={"X-Forwarded-For": "198.51.100.9"}).sign_in(), 429,
                "Too many failed sign-ins")
    # Someone else's keys from the guesser's address still get in: the address budget is far looser.
    assert_page(Browser(user, b.url, headers={"X-Forwarded-For": "203.0.113.7"}).sign_in(), 200, "Hello, new.hire")

"""Database and Redis outages: the portal's own 503 page within its own timeouts, /readyz says so, recovery on heal."""

from __future__ import annotations

import time

import pytest
from admin_helpers import ADMIN, with_mfa
from outage_helpers import settings
from pages import assert_page

from app import create_app
from app.extensions import db
from app.session_store import RedisStore
from conftest import Person

pytestmark = pytest.mark.services

MODES = ["refuse", "blackhole"]


def timed(request):
    """Run a request; return its response and how long it took."""
    started = time.monotonic()
    page = request()
    return page, time.monotonic() - started


def assert_seconds_not_minutes(took: float, own_bound: float) -> None:
    """The page came in seconds, the code's own bound give or take a machine busy with other work.

    Without its timeouts a cut dependency holds a request for minutes (TCP retransmissions, redis-py's
    retries with back-off) or for ever (a proxy that swallows packets). Three times the code's own bound
    plus ten seconds still fails on that, and a loaded machine (two cores, eight test runs) cannot break it;
    test_config checks the timeouts themselves reach the clients.
    """
    assert took < 3 * own_bound + 10, took


def assert_outage_page(page, store: str) -> None:
    """The portal's own 503 page, with its usual headers, naming what it cannot reach."""
    body = page.get_data(as_text=True)
    assert page.status_code == 503, body[:500]
    assert f"The portal cannot reach its {store} right now. Nothing was changed." in body
    assert "Try again in a minute." in body
    assert "Traceback" not in body and "psycopg" not in body and "redis" not in body.lower()
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Retry-After"] == "60"


@pytest.fixture
def pg_app(moto, tmp_path, pg_url, tcp_proxy):
    """The portal on PostgreSQL reached through a proxy the test can cut, and the proxy."""
    proxy = tcp_proxy(5432)
    app = create_app(settings(tmp_path, ADMIN_USERS=[ADMIN],
                              SQLALCHEMY_DATABASE_URI=pg_url.replace("127.0.0.1:5432", proxy.url_host)))
    yield app, proxy
    with app.app_context():
        db.engine.dispose()  # before pg_url drops the database


@pytest.mark.parametrize("mode", MODES)
def test_database_outage_gives_the_503_page_and_recovers(pg_app, iam, make_user, mode):
    app, proxy = pg_app
    admin = with_mfa(app, iam, make_user(ADMIN))
    assert_page(admin.client.get("/admin/"), 200, "MFA enrollment")
    assert admin.client.get("/readyz").status_code == 200

    proxy.cut(mode)
    page, took = timed(lambda: admin.client.get("/admin/"))
    assert_outage_page(page, "database")
    # The promise is 3 s; the code's own bound is one connect timeout (pre-ping, then reconnect).
    assert_seconds_not_minutes(took, app.config["DATABASE_CONNECT_TIMEOUT"])
    probe = app.test_client()  # a probe sends no session cookie
    ready, took = timed(lambda: probe.get("/readyz"))
    assert (ready.status_code, ready.get_data(as_text=True)) == (503, "unreachable: database")
    assert_seconds_not_minutes(took, app.config["DATABASE_CONNECT_TIMEOUT"])
    assert probe.get("/healthz").status_code == 200  # liveness: restarting would not help

    proxy.heal()
    assert probe.get("/readyz").status_code == 200
    assert_page(admin.client.get("/admin/"), 200, "MFA enrollment")


@pytest.fixture
def redis_app(moto, tmp_path, redis_url, tcp_proxy):
    """The portal with sessions and rate limits in Redis reached through a proxy the test can cut."""
    proxy = tcp_proxy(6379)
    app = create_app(settings(tmp_path, REDIS_URL=redis_url.replace("127.0.0.1:6379", proxy.url_host),
                              RATELIMIT_ENABLED=True,
                              SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/portal.sqlite"))
    return app, proxy


@pytest.mark.parametrize("mode", MODES)
def test_redis_outage_gives_the_503_page_and_recovers(redis_app, make_user, mode):
    app, proxy = redis_app
    assert isinstance(app.config["SESSION_STORE"], RedisStore)
    assert app.config["RATELIMIT_STORAGE_URI"].startswith("redis://")
    person = Person(app.test_client(), make_user("new.hire"))
    assert "Sign out" in person.sign_in().get_data(as_text=True)

    proxy.cut(mode)
    page, took = timed(lambda: person.client.get("/"))
    assert_outage_page(page, "session store")
    # Two tries of one socket timeout each (redis-py's retry is set to one).
    bound = 2 * max(app.config["REDIS_CONNECT_TIMEOUT"], app.config["REDIS_TIMEOUT"])
    assert_seconds_not_minutes(took, bound)
    probe = app.test_client()  # a probe sends no session cookie
    ready, took = timed(lambda: probe.get("/readyz"))
    assert (ready.status_code, ready.get_data(as_text=True)) == (503, "unreachable: session store")
    assert_seconds_not_minutes(took, bound)

    proxy.heal()
    assert probe.get("/readyz").status_code == 200
    home = person.client.get("/")
    assert home.status_code == 200 and "Sign out" in home.get_data(as_text=True)  # the session survived

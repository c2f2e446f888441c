"""Fixtures for the admin tests: an admin with an MFA session, a small arranged account, both databases."""

from __future__ import annotations

import pytest
from admin_helpers import ADMIN, arrange

from app.extensions import db
from app.services import reporting
from conftest import make_test_app


@pytest.fixture(autouse=True)
def quick_report(monkeypatch):
    """Poll the credential report without sleeping: moto is ready on the second call."""
    monkeypatch.setattr(reporting, "BACKOFF", (0.0,) * 6)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    """Run a test on SQLite and on PostgreSQL (which fails instead of skipping when CI=true)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/portal.sqlite"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def admin_app(moto, tmp_path, db_url):
    """The portal with "admin" named as admin, on each database."""
    app = make_test_app(tmp_path, ADMIN_USERS=[ADMIN], SQLALCHEMY_DATABASE_URI=db_url)
    yield app
    with app.app_context():
        db.engine.dispose()  # close pooled connections before pg_url drops the database


@pytest.fixture
def lite_app(moto, tmp_path):
    """The portal with "admin" named as admin, on SQLite only (for tests about access, not storage)."""
    # Mail settings so the reminder pages open (nothing is delivered: no consumer runs in these tests).
    return make_test_app(tmp_path, ADMIN_USERS=[ADMIN], SMTP_URL="smtp://127.0.0.1:2525",
                         MAIL_FROM="portal@example.com",
                         PORTAL_URL="http://127.0.0.1:5000", REMINDER_EMAIL="{username}@example.com")


@pytest.fixture
def account(admin_app, iam, make_user):
    """Arrange one user per state the dashboard distinguishes, and an admin with an MFA session."""
    return arrange(admin_app, iam, make_user)


@pytest.fixture
def lite_account(lite_app, iam, make_user):
    """The same account on SQLite only."""
    return arrange(lite_app, iam, make_user)

"""Instance files are owner-only: 0600 files in 0700 folders, whatever the umask."""

from __future__ import annotations

import os
import stat

import pytest

from app.instance_files import private_dir, private_file, private_sqlite, sqlite_path
from conftest import Person


def mode(path) -> int:
    """The permission bits of a path."""
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def loose_umask():
    """Run with the permissive umask many hosts have, so modes cannot pass by accident."""
    previous = os.umask(0o002)
    yield
    os.umask(previous)


def test_helpers_create_and_tighten(tmp_path, loose_umask):
    assert mode(private_dir(tmp_path / "a" / "b")) == 0o700
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o777)
    os.chmod(loose, 0o777)
    assert mode(private_dir(loose)) == 0o700
    existing = loose / "spool.jsonl"
    existing.write_text("kept")
    os.chmod(existing, 0o644)
    assert mode(private_file(existing)) == 0o600 and existing.read_text() == "kept"
    (loose / "db.sqlite-wal").write_bytes(b"")
    os.chmod(loose / "db.sqlite-wal", 0o644)
    private_sqlite(loose / "db.sqlite")
    assert mode(loose / "db.sqlite") == mode(loose / "db.sqlite-wal") == 0o600


@pytest.mark.parametrize("uri, path", [("sqlite:////srv/portal.sqlite", "/srv/portal.sqlite"),
                                       ("sqlite:///portal.sqlite", "portal.sqlite"),
                                       ("sqlite://", None), ("sqlite:///:memory:", None),
                                       ("postgresql+psycopg://u@127.0.0.1/db", None)])
def test_sqlite_path(uri, path):
    assert sqlite_path(uri) == path


def test_every_file_the_portal_writes_is_private(moto, tmp_path, make_user, loose_umask):
    from app import create_app

    instance = tmp_path / "instance"  # INSTANCE_PATH, set by conftest
    # The single-host defaults: SQLite audit log, file sessions and the SQLite rate-limit file.
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})
    person = Person(app.test_client(), make_user("new.hire"))
    person.sign_in()  # writes the audit log, the session store and, for the POST, the rate-limit file
    files = [path for path in instance.rglob("*") if path.is_file()]
    names = {path.name for path in files}
    assert {"mfa-portal.sqlite", "mfa-portal.sqlite-wal", "sessions.sqlite", "ratelimits.sqlite",
            "ratelimits.sqlite-wal"} <= names, names
    for path in files:
        assert mode(path) == 0o600, (path, oct(mode(path)))
    for folder in [instance, *(path for path in instance.rglob("*") if path.is_dir())]:
        assert mode(folder) == 0o700, (folder, oct(mode(folder)))


def test_the_audit_spool_is_private(app, loose_umask):
    from pathlib import Path

    from app.services import audit_spool

    with app.app_context(), audit_spool.spool_locked():
        pass  # opening it is what creates it, on the first outcome the database could not take
    assert mode(Path(app.instance_path) / "audit-spool.jsonl") == 0o600
    assert mode(app.instance_path) == 0o700


def test_the_sqlite_audit_log_syncs_every_commit_through_a_write_ahead_log(app):
    from app.extensions import db

    with app.app_context():
        assert db.session.execute(db.text("PRAGMA journal_mode")).scalar() == "wal"
        # FULL: an audit row survives a power cut, not only a crash.
        assert db.session.execute(db.text("PRAGMA synchronous")).scalar() == 2
        assert "pool_pre_ping" not in app.config["SQLALCHEMY_ENGINE_OPTIONS"]  # a file has no connection to lose

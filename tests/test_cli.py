"""Operators' commands: audit export and purge, snapshot purge, report status and export, one user's row."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
from datetime import UTC, datetime, timedelta

import pytest
from admin_helpers import ADMIN, refresh
from pages import assert_page
from sqlalchemy.exc import OperationalError

from app import aws
from app.extensions import db
from app.models import AuditEvent, ReportSnapshot, ReportUser
from app.services import audit_archive
from app.services.exports import read_cell
from conftest import make_test_app

pytest_plugins = ["admin_fixtures"]  # lite_app, lite_account: an admin with an MFA session, for a real refresh


def now() -> datetime:
    """This test's now: the clock fixture freezes time, up to a code step before the module was imported."""
    return datetime.now(UTC)


def run(app, *args: str):
    """Run `flask ARGS` against the app, as an operator would, and return click's result."""
    return app.test_cli_runner().invoke(args=list(args))


def add_events(app, *ages_in_days: float, action: str = "sign_in", outcome: str = "success", **extra) -> None:
    """Write audit rows dated `age` days ago (straight into the table, as years of use would have)."""
    rows = [{"at": now() - timedelta(days=age), "action": action, "outcome": outcome, "subject": f"user.{i}",
             "event_key": os.urandom(16).hex(), **extra} for i, age in enumerate(ages_in_days)]
    with app.app_context():
        db.session.execute(db.insert(AuditEvent.__table__), rows)
        db.session.commit()


def stored(app) -> list[tuple[str, str]]:
    """(action, outcome) of every row, oldest first."""
    with app.app_context():
        return [tuple(r) for r in db.session.execute(
            db.select(AuditEvent.action, AuditEvent.outcome).order_by(AuditEvent.at, AuditEvent.id))]


@pytest.fixture
def cli_app(moto, tmp_path):
    """The portal on SQLite."""
    return make_test_app(tmp_path)


@pytest.fixture(params=["sqlite", "postgres"])
def both_apps(request, moto, tmp_path):
    """The portal on SQLite and on PostgreSQL."""
    url = f"sqlite:///{tmp_path}/portal.sqlite" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    app = make_test_app(tmp_path, SQLALCHEMY_DATABASE_URI=url)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def no_aws(monkeypatch):
    """Fail the test on any AWS call: the server running these commands holds no AWS credentials."""

    def refuse(*args, **kwargs):
        raise AssertionError("a command called AWS")

    monkeypatch.setattr(aws, "call", refuse)


# --- help ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("command", "options"), [
    (["audit", "export"], ["--since", "--until", "--format", "--output"]),
    (["audit", "purge"], ["--before", "--dry-run"]),
    (["snapshots", "purge"], ["--days"]),
    (["report", "status"], []),
    (["report", "export"], ["--format", "--output"]),
    (["users", "show"], ["NAME"]),
])
def test_every_command_explains_each_option(cli_app, command, options):
    result = run(cli_app, *command, "--help")
    assert result.exit_code == 0
    for option in options:
        line = next(line for line in result.output.splitlines() if option in line)
        assert len(line.split(option, 1)[1].strip()) > 10 or option == "NAME", line  # an explanation follows
    assert "AUDIT_RETENTION_MIN_DAYS" in run(cli_app, "audit", "purge", "--help").output


# --- audit export --------------------------------------------------------------------------------------------

def test_audit_export_writes_every_record_in_the_range_attempts_too(both_apps, no_aws):
    app = both_apps
    add_events(app, 40, 10.5, 10.4, 2)
    add_events(app, 10.45, action="credentials_issued", outcome="attempt", request_id="edge-1")
    since, until = (now() - timedelta(days=11)).date(), (now() - timedelta(days=10)).date()
    result = run(app, "audit", "export", "--since", since.isoformat(), "--until", until.isoformat())
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["action"], r["outcome"]) for r in records] == [
        ("sign_in", "success"), ("credentials_issued", "attempt"), ("sign_in", "success")]
    assert records[1]["request_id"] == "edge-1" and records[1]["at"].endswith("+00:00")
    assert set(records[0]) == set(audit_archive.COLUMNS)
    everything = run(app, "audit", "export")
    assert len(everything.stdout.splitlines()) == 5


def test_audit_export_csv_is_spreadsheet_safe_and_goes_to_a_private_file(cli_app, tmp_path, no_aws):
    add_events(cli_app, 1, user_agent="=HYPERLINK(\"http://evil\")", detail='{"reason": "@SUM(1)"}')
    target = tmp_path / "audit.csv"
    result = run(cli_app, "audit", "export", "--format", "csv", "--output", str(target))
    assert result.exit_code == 0 and f"Exported 1 audit records to {target}." in result.stderr
    assert os.stat(target).st_mode & 0o077 == 0
    rows = list(csv.reader(io.StringIO(target.read_text(), newline="")))
    assert rows[0] == audit_archive.COLUMNS
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["user_agent"] == "'=HYPERLINK(\"http://evil\")"
    assert read_cell(record["user_agent"]) == "=HYPERLINK(\"http://evil\")"
    assert record["at"].endswith("Z")


def test_audit_export_refuses_bad_dates_and_says_when_nothing_matched(cli_app):
    bad = run(cli_app, "audit", "export", "--since", "yesterday")
    assert bad.exit_code == 2 and "'yesterday' does not match" in bad.stderr
    reversed_range = run(cli_app, "audit", "export", "--since", "2026-02-01", "--until", "2026-01-01")
    assert reversed_range.exit_code == 2 and "is after --until" in reversed_range.stderr
    assert run(cli_app, "audit", "export", "--format", "xml").exit_code == 2
    empty = run(cli_app, "audit", "export")
    assert (empty.exit_code, empty.stdout) == (0, "")
    assert "No audit records in that range" in empty.stderr


# --- audit purge ---------------------------------------------------------------------------------------------

def test_audit_purge_refuses_anything_younger_than_the_floor(both_apps):
    app = both_apps
    add_events(app, 400, 10)
    too_recent = (now() - timedelta(days=364)).date().isoformat()
    result = run(app, "audit", "purge", "--before", too_recent)
    assert result.exit_code == 2
    assert "would remove records younger than 365 days (AUDIT_RETENTION_MIN_DAYS)" in result.stderr
    assert len(stored(app)) == 2
    assert run(app, "audit", "purge").exit_code == 2  # --before is required


def test_audit_purge_counts_removes_records_itself_and_never_removes_a_purge(both_apps, no_aws):
    app = both_apps
    add_events(app, 900, 800, 500, 10)
    add_events(app, 700, action="device_enabled", outcome="attempt")
    before = (now() - timedelta(days=600)).date().isoformat()
    dry = run(app, "audit", "purge", "--before", before, "--dry-run")
    assert dry.exit_code == 0 and "Would remove 3 audit records" in dry.stdout and len(stored(app)) == 5
    done = run(app, "audit", "purge", "--before", before)
    assert done.exit_code == 0, done.output
    assert f"Removed 3 audit records from before {before}" in done.stdout
    assert stored(app) == [("sign_in", "success"), ("sign_in", "success"), ("audit_purge", "attempt"),
                           ("audit_purge", "success")]
    with app.app_context():
        detail = db.session.scalar(db.select(AuditEvent.detail).where(AuditEvent.outcome == "success",
                                                                      AuditEvent.action == "audit_purge"))
        agent = db.session.scalar(db.select(AuditEvent.user_agent).where(AuditEvent.action == "audit_purge"))
    assert json.loads(detail) == {"before": before, "rows": 3}
    assert agent.startswith("flask audit purge (run by ")
    # Years later, a purge past the first one's date leaves the first purge's records where they are.
    with app.app_context():
        db.session.execute(db.update(AuditEvent.__table__).values(at=now() - timedelta(days=3000)))
        db.session.commit()
    again = run(app, "audit", "purge", "--before", before)
    assert again.exit_code == 0 and "Removed 2 audit records" in again.stdout  # the two sign-ins, not the purge
    assert [a for a, _ in stored(app)] == ["audit_purge"] * 4
    only_purges = run(app, "audit", "purge", "--before", before)
    assert only_purges.exit_code == 0 and "Nothing to purge" in only_purges.stdout
    assert len(stored(app)) == 4


def test_the_orm_still_refuses_to_delete_an_event(cli_app):
    add_events(cli_app, 1)
    with cli_app.app_context(), pytest.raises(PermissionError, match="append-only"):
        db.session.delete(db.session.scalars(db.select(AuditEvent)).one())
        db.session.flush()


# --- snapshots purge ------------------------------------------------------------------------------------------

def add_snapshot(app, age_days: float, users: tuple[str, ...] = ("alice",)) -> int:
    """Store a snapshot taken `age_days` ago with one row per user; return its id."""
    with app.app_context():
        snapshot = ReportSnapshot(taken_at=now() - timedelta(days=age_days), taken_by="arn:aws:iam::1:user/admin",
                                  users=len(users), enrolled=len(users), calls=7, seconds=1.25,
                                  report_generated_at=now() - timedelta(days=age_days, hours=3))
        db.session.add(snapshot)
        db.session.flush()
        for name in users:
            db.session.add(ReportUser(snapshot_id=snapshot.id, user_name=name, arn=f"arn:aws:iam::1:user/{name}",
                                      mfa_status="virtual", covered_by="group mfa-required"))
        db.session.commit()
        return snapshot.id


def snapshot_ids(app) -> list[int]:
    """The stored snapshots' ids, with their rows' snapshot ids (which must match)."""
    with app.app_context():
        ids = list(db.session.scalars(db.select(ReportSnapshot.id).order_by(ReportSnapshot.id)))
        assert set(db.session.scalars(db.select(ReportUser.snapshot_id))) <= set(ids)
        return ids


def test_snapshots_purge_removes_old_ones_but_never_the_newest(cli_app, no_aws):
    old, kept, newest = add_snapshot(cli_app, 500), add_snapshot(cli_app, 100), add_snapshot(cli_app, 450)
    result = run(cli_app, "snapshots", "purge")
    assert result.exit_code == 0 and "Removed 1 snapshots taken more than 400 days ago." in result.stdout
    assert snapshot_ids(cli_app) == [kept, newest] and old not in snapshot_ids(cli_app)
    nothing = run(cli_app, "snapshots", "purge")
    assert nothing.exit_code == 0 and "Nothing to purge" in nothing.stdout
    assert run(cli_app, "snapshots", "purge", "--days", "50").exit_code == 0
    assert snapshot_ids(cli_app) == [newest]  # the newest stays even when it is old
    assert run(cli_app, "snapshots", "purge", "--days", "0").exit_code == 2


def test_each_refresh_drops_expired_snapshots(lite_app, lite_account):
    expired, recent = add_snapshot(lite_app, 401), add_snapshot(lite_app, 399)
    assert_page(refresh(lite_account.admin), 200, "Refreshed: 6 users read")
    ids = snapshot_ids(lite_app)
    assert expired not in ids and recent in ids and len(ids) == 2


# --- report and users ------------------------------------------------------------------------------------------

def test_report_commands_with_no_snapshot_have_nothing_to_do(cli_app):
    for command in (["report", "status"], ["report", "export"], ["users", "show", "alice"]):
        result = run(cli_app, *command)
        assert result.exit_code == 0 and "No snapshot yet" in result.output, command


def test_report_status_says_when_by_whom_and_how_old_the_credential_report_was(cli_app, no_aws):
    add_snapshot(cli_app, 2, users=("alice", "bob"))
    result = run(cli_app, "report", "status")
    assert result.exit_code == 0, result.output
    assert "(2 days ago)" in result.output and "Taken by:          arn:aws:iam::1:user/admin" in result.output
    assert "3 hours old when the snapshot was taken" in result.output
    assert "Users:             2" in result.output and "7 AWS calls in 1.2 s" in result.output


def test_report_export_is_the_dashboards_csv_download(lite_app, lite_account, monkeypatch):
    admin = lite_account.admin
    assert_page(refresh(admin), 200, "Refreshed: 6 users read")
    monkeypatch.setattr(aws, "call", lambda *a, **k: pytest.fail("a command called AWS"))
    from_command = run(lite_app, "report", "export")
    assert from_command.exit_code == 0, from_command.output
    from_page = admin.client.post("/admin/export", data={"show": "all", "sort": "name", "order": "asc"})
    # Same columns, same cells, same order, same line ends (click's .stdout would turn CRLF into LF).
    assert from_command.stdout_bytes == from_page.get_data()
    as_json = json.loads(run(lite_app, "report", "export", "--format", "json").stdout)
    header = next(csv.reader(io.StringIO(from_command.stdout)))
    assert [list(user) for user in as_json["users"]] == [header] * len(as_json["users"])
    assert as_json["snapshot"]["taken_by"].endswith(f"user/{ADMIN}") and as_json["snapshot"]["users"] >= 5
    enrolled = next(u for u in as_json["users"] if u["user"] == "enrolled.user")
    assert enrolled["mfa_status"] == "virtual" and enrolled["last_portal_activity"].endswith("+00:00")
    assert run(lite_app, "report", "export", "--format", "yaml").exit_code == 2


def test_users_show_prints_one_row_and_refuses_what_is_no_user_name(cli_app, no_aws):
    add_snapshot(cli_app, 1, users=("alice", "bob"))
    shown = run(cli_app, "users", "show", "alice")
    assert shown.exit_code == 0, shown.output
    assert "user:                 alice" in shown.stdout and "arn:aws:iam::1:user/alice" in shown.stdout
    assert "bob" not in shown.stdout
    missing = run(cli_app, "users", "show", "carol")
    assert missing.exit_code == 1 and "No user named carol" in missing.stderr
    bad = run(cli_app, "users", "show", "not a name")
    assert bad.exit_code == 2 and "is not an IAM user name" in bad.stderr


# --- failures ------------------------------------------------------------------------------------------------

def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("command", [["audit", "export"], ["audit", "purge", "--before", "2000-01-01"],
                                     ["snapshots", "purge"], ["report", "status"], ["report", "export"],
                                     ["users", "show", "alice"]])
def test_an_unreachable_database_is_one_sentence_and_exit_1(moto, tmp_path, command):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/nowhere"
    app = make_test_app(tmp_path, SQLALCHEMY_DATABASE_URI=url, AUTO_MIGRATE=False, DATABASE_CONNECT_TIMEOUT=1)
    result = run(app, *command)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("The database could not be used (OperationalError): check DATABASE_URL")
    assert "Traceback" not in result.output and len(result.stderr.splitlines()) == 1


def test_an_unwritable_output_file_is_one_sentence_and_exit_1(cli_app, tmp_path):
    add_events(cli_app, 1)
    result = run(cli_app, "audit", "export", "--output", str(tmp_path / "missing" / "audit.jsonl"))
    assert result.exit_code == 1 and "Could not write" in result.stderr and "Traceback" not in result.output


def test_a_purge_that_cannot_record_itself_removes_nothing(cli_app, monkeypatch):
    from app.services import audit_spool

    add_events(cli_app, 800)
    real_insert = audit_spool.insert

    def refuse_purge_records(rows, spooled=False):
        if rows and rows[0]["action"] == "audit_purge":
            raise OperationalError("INSERT", {}, Exception("disk full"))
        return real_insert(rows, spooled)

    monkeypatch.setattr(audit_spool, "insert", refuse_purge_records)
    result = run(cli_app, "audit", "purge", "--before", (now() - timedelta(days=400)).date().isoformat())
    assert result.exit_code == 1 and "nothing was changed" in result.stderr and "Traceback" not in result.output
    assert stored(cli_app) == [("sign_in", "success")]

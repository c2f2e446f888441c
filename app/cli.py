"""Operators' commands: `flask audit`, `flask snapshots`, `flask report`, `flask users`; none calls AWS."""

from __future__ import annotations

import functools
import getpass
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any, TextIO

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from .errors import AuditUnavailable
from .services import audit, audit_archive, listings, snapshots
from .services.exports import EXPORT_HEADER, USER_CSV_HEADER, as_utc, export_values, plain, user_values, write_csv

# Exit codes: 0 done (or nothing to do), 1 a failure (database away, file not writable), 2 bad arguments
# (click's own code for usage errors, so a typo and a refused date read alike to a script).
FAILED = 1
_USER_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")  # what IAM accepts as a user name
DAY = click.DateTime(formats=["%Y-%m-%d"])


def _failures(command: Callable) -> Callable:
    """Turn a database that cannot be reached (or a file that cannot be written) into one sentence and exit 1."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except SQLAlchemyError as err:
            # The error's text may name the server; its class is enough to tell what happened.
            kind = type(getattr(err, "orig", None) or err).__name__
            click.echo(f"The database could not be used ({kind}): check DATABASE_URL and that the database "
                       "is running, then try again.", err=True)
            raise click.exceptions.Exit(FAILED) from None
        except AuditUnavailable:
            click.echo("The audit log could not take this command's own record, so nothing was changed: "
                       "check that the database is running, then try again.", err=True)
            raise click.exceptions.Exit(FAILED) from None
        except OSError as err:
            click.echo(f"Could not write {err.filename or 'the output'}: {err.strerror or err}.", err=True)
            raise click.exceptions.Exit(FAILED) from None

    return run


@contextmanager
def _output(path: str | None, newline: str | None = None) -> Iterator[TextIO]:
    """Standard output, or a new file readable by this user only (exports hold names and addresses)."""
    if path is None:
        yield sys.stdout
        return
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(descriptor, "w", encoding="utf-8", newline=newline) as out:
        yield out


def _day(value: datetime | None) -> date | None:
    """A click DateTime as the day it names."""
    return value.date() if value else None


def _when(value: datetime | None) -> str:
    """A stored time for people: UTC to the minute."""
    return as_utc(value).strftime("%Y-%m-%d %H:%M UTC") if value else "unknown"


def _age(delta_seconds: float) -> str:
    """A duration in the largest whole unit that fits."""
    seconds = max(0, int(delta_seconds))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


# --- flask audit -------------------------------------------------------------------------------------------

audit_cli = AppGroup("audit", help="Export the audit log for auditors, or purge records past the retention floor.")


@audit_cli.command("export")
@click.option("--since", type=DAY, metavar="DATE",
              help="First day to include (YYYY-MM-DD, UTC). Default: the oldest record.")
@click.option("--until", type=DAY, metavar="DATE",
              help="Last day to include, whole day (YYYY-MM-DD, UTC). Default: today.")
@click.option("--format", "kind", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True,
              help="jsonl: one JSON object per record. csv: a spreadsheet-safe table, as the admin page exports.")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="Write to FILE (created readable by you only) instead of standard output.")
@_failures
def audit_export(since: datetime | None, until: datetime | None, kind: str, output: str | None) -> None:
    """Write every audit record in the range, attempts and outcomes, oldest first, in constant memory."""
    first, last = _day(since), _day(until)
    if first and last and first > last:
        raise click.BadParameter(f"{first} is after --until {last}.", param_hint="--since")
    records = audit_archive.stream(first, last)
    with _output(output, newline="" if kind == "csv" else None) as out:
        if kind == "csv":
            count = write_csv(out, audit_archive.COLUMNS, records)
        else:
            count = 0
            for values in records:
                out.write(audit_archive.as_json(values) + "\n")
                count += 1
    if not count:
        click.echo("No audit records in that range: nothing exported.", err=True)
    elif output:
        click.echo(f"Exported {count} audit records to {output}.", err=True)


@audit_cli.command("purge")
@click.option("--before", type=DAY, required=True, metavar="DATE",
              help="Remove records from before this day (YYYY-MM-DD, UTC). It must be at least "
                   "AUDIT_RETENTION_MIN_DAYS (default 365) days ago.")
@click.option("--dry-run", is_flag=True, help="Only count what would be removed; remove nothing.")
@_failures
def audit_purge(before: datetime, dry_run: bool) -> None:
    """Remove old audit records; the purge is itself recorded, and no purge removes that record."""
    actor = audit.Actor(user_agent=f"flask audit purge (run by {_operator()})")
    try:
        done = audit_archive.purge(before.date(), current_app.config["AUDIT_RETENTION_MIN_DAYS"], actor, dry_run)
    except audit_archive.TooRecent as err:
        raise click.BadParameter(str(err), param_hint="--before") from None
    day = done.before.isoformat()
    if not done.rows:
        click.echo(f"Nothing to purge: no audit records from before {day}.")
    elif done.dry_run:
        click.echo(f"Would remove {done.rows} audit records from before {day} (dry run: nothing removed).")
    else:
        click.echo(f"Removed {done.rows} audit records from before {day}; the purge is recorded in the audit log.")


def _operator() -> str:
    """The operating-system account running the command, for the purge's record."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (an arbitrary container uid)
        return f"uid {os.getuid()}"


# --- flask snapshots ---------------------------------------------------------------------------------------

snapshots_cli = AppGroup("snapshots", help="Manage the stored dashboard refreshes (snapshots).")


@snapshots_cli.command("purge")
@click.option("--days", type=click.IntRange(min=1), default=None, metavar="N",
              help="Remove snapshots taken more than N days ago. Default: SNAPSHOT_RETENTION_DAYS (400).")
@_failures
def snapshots_purge(days: int | None) -> None:
    """Remove old snapshots (the newest always stays); each admin refresh does the same."""
    days = days or current_app.config["SNAPSHOT_RETENTION_DAYS"]
    removed = snapshots.purge_snapshots(datetime.now(UTC) - timedelta(days=days))
    if removed:
        click.echo(f"Removed {removed} snapshots taken more than {days} days ago.")
    else:
        click.echo(f"Nothing to purge: no snapshot is older than {days} days (the newest one always stays).")


# --- flask report / flask users ----------------------------------------------------------------------------

report_cli = AppGroup("report", help="Read the latest stored dashboard snapshot (no AWS call).")
NO_SNAPSHOT = "No snapshot yet: an admin has not refreshed the dashboard, so there is nothing to show."


@report_cli.command("status")
@_failures
def report_status() -> None:
    """Say when the latest snapshot was taken, by whom, how old its credential report was, and its totals."""
    snapshot = snapshots.latest()
    if snapshot is None:
        click.echo(NO_SNAPSHOT)
        return
    taken = as_utc(snapshot.taken_at)
    click.echo(f"Snapshot:          {_when(taken)} ({_age((datetime.now(UTC) - taken).total_seconds())} ago)")
    click.echo(f"Taken by:          {snapshot.taken_by or 'unknown'}")
    if snapshot.report_generated_at:
        report_age = (taken - as_utc(snapshot.report_generated_at)).total_seconds()
        click.echo(f"Credential report: generated {_when(snapshot.report_generated_at)}, "
                   f"{_age(report_age)} old when the snapshot was taken")
    else:
        click.echo("Credential report: unknown (AWS did not give one)")
    policy = snapshot.policy_arn or "not configured"
    click.echo(f"Force-MFA policy:  {policy} ({'found' if snapshot.policy_found else 'not found'})")
    click.echo(f"Cost:              {snapshot.calls} AWS calls in {snapshot.seconds:.1f} s")
    click.echo(f"Users:             {snapshot.users}")
    for label, value in (("Enrolled", snapshot.enrolled), ("Hardware or FIDO MFA", snapshot.other_mfa),
                         ("Abandoned device", snapshot.abandoned), ("Not covered", snapshot.not_covered),
                         ("Orphan devices", snapshot.orphan_devices)):
        click.echo(f"  {label + ':':<22}{value}")


@report_cli.command("export")
@click.option("--format", "kind", type=click.Choice(["csv", "json"]), default="csv", show_default=True,
              help="csv: the dashboard's CSV download, every user. json: the snapshot and its users as one object.")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="Write to FILE (created readable by you only) instead of standard output.")
@_failures
def report_export(kind: str, output: str | None) -> None:
    """Export every user of the latest snapshot, with the admin dashboard's export columns."""
    snapshot = snapshots.latest()
    if snapshot is None:
        click.echo(NO_SNAPSHOT, err=True)
        return
    rows = listings.all_rows(snapshot.id, listings.UserQuery())
    activity = listings.last_activity(rows)
    values = (export_values(row, activity, "all") for row in rows)
    with _output(output, newline="" if kind == "csv" else None) as out:
        if kind == "csv":
            write_csv(out, EXPORT_HEADER, values)
        else:
            json.dump({"snapshot": _snapshot_fields(snapshot),
                       "users": [{name: plain(value) for name, value in zip(EXPORT_HEADER, row, strict=True)}
                                 for row in values]}, out, ensure_ascii=False, indent=1)
            out.write("\n")
    if output:
        click.echo(f"Exported {len(rows)} users of the snapshot of {_when(snapshot.taken_at)} to {output}.", err=True)


def _snapshot_fields(snapshot: Any) -> dict[str, Any]:
    """The snapshot's own facts, for the JSON export."""
    names = ("taken_at", "taken_by", "report_generated_at", "policy_arn", "policy_found", "calls", "seconds", "users",
             "enrolled", "other_mfa", "abandoned", "not_covered", "orphan_devices")
    return {name: plain(getattr(snapshot, name)) for name in names}


users_cli = AppGroup("users", help="Look up users in the latest stored snapshot (no AWS call).")


@users_cli.command("show")
@click.argument("name")
@_failures
def users_show(name: str) -> None:
    """Print NAME's row of the latest snapshot (an IAM user name, exactly as IAM spells it)."""
    if not _USER_NAME.match(name):
        raise click.BadParameter(f"{name!r} is not an IAM user name (letters, digits and + = , . @ _ -, "
                                 "at most 64).", param_hint="NAME")
    snapshot = snapshots.latest()
    if snapshot is None:
        click.echo(NO_SNAPSHOT)
        return
    row = snapshots.user_row(snapshot.id, name)
    if row is None:
        click.echo(f"No user named {name} in the snapshot of {_when(snapshot.taken_at)}; IAM user names are "
                   "case-sensitive here. A user created since then appears after the next refresh.", err=True)
        raise click.exceptions.Exit(FAILED)
    click.echo(f"From the snapshot of {_when(snapshot.taken_at)}:")
    for column, value in zip(USER_CSV_HEADER, user_values(row, listings.last_activity([row])), strict=True):
        click.echo(f"  {column + ':':<22}{_shown(value)}")


def _shown(value: Any) -> str:
    """A value for the terminal: times in UTC, yes/no, a dash for unknown."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return _when(value)
    return str(value)


COMMANDS = (audit_cli, snapshots_cli, report_cli, users_cli)

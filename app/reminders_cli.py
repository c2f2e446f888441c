"""`flask reminders send`: reminder e-mails from cron, from the latest snapshot an admin's refresh left."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale

from .services import audit, reminders

reminders_cli = AppGroup("reminders", help="Reminder e-mails to people with a finding.")


@reminders_cli.command("send")
@click.option("--finding", required=True, help="The finding's control id, e.g. IAM.19.")
@click.option("--deadline", default=None, help="A date the e-mail asks people to act by, e.g. 2027-01-31.")
@click.option("--dry-run", is_flag=True, help="Say who would get a reminder and who is skipped; send nothing.")
def send_command(finding: str, deadline: str | None, dry_run: bool) -> None:
    """Queue reminders about one finding; refuse when the latest snapshot is older than 24 hours."""
    with force_locale("en"):  # no request to choose a language from: cron's output is English
        _send(finding, deadline, dry_run)


def _send(finding: str, deadline: str | None, dry_run: bool) -> None:
    """Plan, say, and (unless a dry run) queue."""
    config = current_app.config
    try:
        reminders.check_configured(config)
        found = reminders.plan(reminders.fresh_snapshot(), finding, config)
        deadline = reminders.parse_deadline(deadline)
    except reminders.ReminderRefused as err:
        click.echo(f"{err.message} {err.next_step or ''}".strip(), err=True)
        raise SystemExit(1) from None
    click.echo(f"{finding}: {len(found.send)} to remind, {len(found.no_address)} skipped without an address, "
               f"{len(found.recent)} skipped as reminded in the last {config['REMINDER_INTERVAL_DAYS']} days.")
    if dry_run:
        for name, address in found.send:
            click.echo(f"  would remind {name} <{address}>")
        return
    queued = reminders.queue(found, deadline, audit.Actor())
    click.echo(f"{len(queued)} reminders queued; the queue consumer sends them.")

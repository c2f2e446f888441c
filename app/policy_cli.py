"""`flask policy show` and `flask policy check`: the shipped IAM policies, and the force-MFA one judged."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup

from .policy import POLICY_NAMES, Principal, authorizations_of, evaluate, load_policy, policy_text, pre_mfa_calls

policy_cli = AppGroup("policy", help="Show the IAM policies the portal ships, and check the force-MFA one.")


@policy_cli.command("show")
@click.argument("name", type=click.Choice(POLICY_NAMES), default="force-mfa")
def show_command(name: str) -> None:
    """Print a shipped policy document, ready to attach in IAM."""
    click.echo(policy_text(name), nl=False)


@policy_cli.command("check")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), help="Policy JSON to check instead.")
@click.option("--partition", default="aws", show_default=True)
@click.option("--account", default="123456789012", show_default=True)
@click.option("--user", "user_name", default="new-hire", show_default=True)
@click.option("--device-name", help="Virtual MFA device name [default: the user name].")
def check_command(path: str | None, partition: str, account: str, user_name: str, device_name: str | None) -> None:
    """Print which of the portal's pre-MFA calls the force-MFA policy allows; exit 1 if any is denied."""
    policy = json.loads(Path(path).read_text(encoding="utf-8")) if path else load_policy("force-mfa")
    who = Principal(partition, account, user_name, mfa_present=False)
    denied = 0
    for call in pre_mfa_calls(who, device_name):
        needs = authorizations_of(call, who)
        if not needs:
            click.echo(f"allow  {call.service}:{call.operation}  (AWS checks no policy for this call)")
        for action, resources in needs:
            decision = evaluate(policy, action, resources, who)
            denied += not decision.allowed
            verdict = "allow" if decision.allowed else "DENY "
            click.echo(f"{verdict}  {action}  {' '.join(resources)}  ({decision.reason})")
    if denied:
        raise click.exceptions.Exit(1)

"""The `flask policy` commands: the shipped documents shown byte for byte, the force-MFA one checked."""

from __future__ import annotations

import json

import pytest
from flask import Flask

from app.policy import load_policy, policy_text
from app.policy_cli import policy_cli


@pytest.fixture()
def runner():
    """Return a CLI runner for a bare Flask app with the policy commands."""
    app = Flask(__name__)
    app.cli.add_command(policy_cli)
    return app.test_cli_runner()


@pytest.mark.parametrize(("args", "name"), [([], "force-mfa"), (["force-mfa"], "force-mfa"), (["admin"], "admin")])
def test_cli_show_prints_the_document(runner, args: list[str], name: str) -> None:
    """`flask policy show` prints the shipped document byte for byte."""
    result = runner.invoke(args=["policy", "show", *args])
    assert result.exit_code == 0
    assert result.output == policy_text(name)
    assert json.loads(result.output) == load_policy(name)


def test_cli_show_rejects_unknown_names(runner) -> None:
    """Only shipped policies can be shown."""
    result = runner.invoke(args=["policy", "show", "root"])
    assert result.exit_code == 2 and "force-mfa" in result.output


def test_cli_check_passes_for_the_shipped_policy(runner) -> None:
    """`flask policy check` lists each pre-MFA call as allowed."""
    result = runner.invoke(args=["policy", "check"])
    assert result.exit_code == 0, result.output
    assert "DENY" not in result.output
    assert "allow  sts:GetCallerIdentity  (AWS checks no policy for this call)" in result.output
    assert (
        "allow  iam:CreateVirtualMFADevice  arn:aws:iam::123456789012:mfa/new-hire  "
        "(allowed by AllowIndividualUserToViewAndManageTheirOwnMFA)" in result.output
    )


@pytest.mark.parametrize("args", [["--partition", "aws-cn"], ["--device-name", "phone"]])
def test_cli_check_reports_denials(runner, args: list[str]) -> None:
    """Another partition or device name fails the check with the denied calls shown."""
    result = runner.invoke(args=["policy", "check", *args])
    assert result.exit_code == 1
    assert "DENY   iam:CreateVirtualMFADevice" in result.output


def test_cli_check_reads_a_policy_file(runner, tmp_path) -> None:
    """An admin can check the policy actually attached in their account."""
    attached = tmp_path / "attached.json"
    attached.write_text(json.dumps(load_policy("admin")))
    result = runner.invoke(args=["policy", "check", "--file", str(attached)])
    assert result.exit_code == 1
    assert "no statement allows it" in result.output

"""What real clients tripped on in the snippets: appended INI files, zsh, PowerShell, credential_process."""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import botocore.session
import pytest
from botocore.compat import compat_shell_split

from app.services import formats
from app.services.session_credentials import SessionCredentials

CREDS = SessionCredentials("ASIAEXAMPLEEXAMPLE12", "s3cr3t/with+chars" + "x" * 23, "FwoGZXIvYXdzE" + "t" * 200,
                           datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC))
SHELLS = ("bash", "fish", "powershell")


@pytest.fixture
def aws_home(tmp_path, monkeypatch):
    """A home directory of its own, with botocore reading only the files under it."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".aws").mkdir()
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / ".aws" / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / ".aws" / "config"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / ".aws"


def keys(loaded) -> tuple[str, str, str]:
    """The three values botocore resolved."""
    frozen = loaded.get_frozen_credentials()
    return frozen.access_key, frozen.secret_key, frozen.token


def test_ini_block_appended_to_a_file_without_final_newline_keeps_both_profiles(aws_home):
    existing = "[default]\naws_access_key_id = AKIAEXAMPLEEXAMPLE1\naws_secret_access_key = " + "k" * 40
    (aws_home / "credentials").write_text(existing + formats.render("ini", CREDS, "mfa"))
    parser = configparser.ConfigParser()
    parser.read(aws_home / "credentials")
    assert parser.sections() == ["default", "mfa"]
    assert parser["default"]["aws_secret_access_key"] == "k" * 40
    assert keys(botocore.session.Session(profile="mfa").get_credentials()) == (
        CREDS.access_key_id, CREDS.secret_access_key, CREDS.session_token)


@pytest.mark.parametrize("fmt", SHELLS)
def test_shell_snippets_have_no_comment_lines(fmt):
    """An interactive zsh without INTERACTIVE_COMMENTS runs "# expires" as a command."""
    lines = formats.render(fmt, CREDS).splitlines()
    assert lines and not [line for line in lines if line.lstrip().startswith("#")]
    assert any("2030-01-02T03:04:05Z" in line for line in lines)  # the expiry is still there, as a value


def test_powershell_values_are_single_quoted():
    """Double quotes would expand $ and backticks inside a value."""
    lines = formats.render("powershell", CREDS).splitlines()
    assert all(re.fullmatch(r"\$Env:AWS_[A-Z_]+ = '[^'$`]*'", line) for line in lines), lines
    assert f"$Env:AWS_SESSION_TOKEN = '{CREDS.session_token}'" in lines


def test_bash_snippet_pastes_into_an_interactive_zsh():
    """Typed (piped) into an interactive zsh, as a paste is: every line runs, none is "command not found"."""
    if not shutil.which("zsh"):
        if os.environ.get("CI") == "true":
            pytest.fail("zsh is missing: .ci/run installs it with apt", pytrace=False)
        pytest.skip("zsh is not installed (apt-get install zsh)")
    pasted = formats.render("bash", CREDS) + 'print -r -- "token=$AWS_SESSION_TOKEN"\n'
    out = subprocess.run(["zsh", "-f", "-i"], input=pasted, capture_output=True, text=True, timeout=20,
                         env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})
    assert f"token={CREDS.session_token}" in out.stdout
    assert "command not found" not in out.stdout + out.stderr


def test_botocore_reads_the_expiry_from_the_exported_variables(aws_home, monkeypatch):
    script = aws_home / "env.sh"
    script.write_text(formats.render("bash", CREDS))
    out = subprocess.run(["bash", "-c", f'. "{script}"; env'], capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin"})
    exported = dict(line.split("=", 1) for line in out.stdout.splitlines() if line.startswith("AWS_"))
    for name, value in exported.items():
        monkeypatch.setenv(name, value)
    loaded = botocore.session.Session().get_credentials()
    assert keys(loaded) == (CREDS.access_key_id, CREDS.secret_access_key, CREDS.session_token)
    assert loaded._expiry_time == CREDS.expiration  # noqa: SLF001 - botocore offers no public getter


def test_credential_process_config_line_runs_in_botocore(aws_home):
    """The JSON saved where the page says, the config line the page gives: botocore gets the credentials."""
    fresh = SessionCredentials(CREDS.access_key_id, CREDS.secret_access_key, CREDS.session_token,
                               datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1))
    saved = formats.process_file("acme-mfa")["posix"].replace("~/.aws", str(aws_home))
    with open(saved, "w", encoding="utf-8") as out:
        out.write(formats.render("credential_process", fresh))
    (aws_home / "config").write_text("[default]\nregion = eu-west-1" + formats.process_config("acme-mfa")["posix"])
    loaded = botocore.session.Session(profile="acme-mfa").get_credentials()
    assert loaded.method == "custom-process"
    assert keys(loaded) == (CREDS.access_key_id, CREDS.secret_access_key, CREDS.session_token)


def test_credential_process_windows_line_runs_type_through_cmd():
    block = formats.process_config("acme-mfa")["windows"]
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(block)
    command = parser["profile acme-mfa"]["credential_process"]
    assert compat_shell_split(command, platform="win32") == [
        "cmd", "/c", "type", r"%UserProfile%\.aws\acme-mfa-credentials.json"]
    assert formats.process_file("acme-mfa")["windows"] == r"%UserProfile%\.aws\acme-mfa-credentials.json"


def test_credential_process_json_carries_the_expiry_the_cli_honours():
    data = json.loads(formats.render("credential_process", CREDS))
    assert data["Expiration"] == "2030-01-02T03:04:05Z"


def test_the_ini_block_carries_the_region_a_fresh_machine_needs(aws_home, monkeypatch):
    """No ~/.aws/config at all: botocore takes the region from the credentials file's profile."""
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    (aws_home / "credentials").write_text(formats.render("ini", CREDS, "work", "eu-central-1"))
    assert botocore.session.Session(profile="work").get_config_variable("region") == "eu-central-1"


def test_the_exports_carry_the_region_for_the_cli_and_other_sdks(aws_home, monkeypatch):
    script = aws_home / "env.sh"
    script.write_text(formats.render("bash", CREDS, region="eu-central-1"))
    out = subprocess.run(["bash", "-c", f'. "{script}"; env'], capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin"})
    exported = dict(line.split("=", 1) for line in out.stdout.splitlines() if line.startswith("AWS_"))
    assert exported["AWS_REGION"] == exported["AWS_DEFAULT_REGION"] == "eu-central-1"
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", exported["AWS_DEFAULT_REGION"])
    assert botocore.session.Session().get_config_variable("region") == "eu-central-1"
    for fmt in ("fish", "powershell"):
        assert "eu-central-1" in formats.render(fmt, CREDS, region="eu-central-1")
    assert "region = eu-central-1" in formats.process_config("acme-mfa", "eu-central-1")["posix"]

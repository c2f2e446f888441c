"""Session credentials: one code, validated duration and profile, every snippet usable."""

import configparser
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import botocore.session
import pytest
from pages import assert_page, assert_redirect

from app.errors import InvalidInput
from app.services import formats
from app.services import session_credentials as service
from app.services.session_credentials import SessionCredentials
from conftest import Person, code, operations
from security_helpers import outcomes

SERIAL = "arn:aws:iam::123456789012:mfa/new.hire"


def enrolled(person: Person) -> Person:
    """Sign in and enable a device, stopping before the proving code."""
    person.sign_in()
    person.start_enrollment()
    person.verify()
    return person


def test_the_last_enrollment_code_is_refused_before_aws_with_guidance(person, aws_calls):
    enrolled(person)
    page = person.get_credentials(token=code(person.seed, 0))
    body = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "AWS refuses a code that was already used" in body
    assert re.search(r"Wait for the next code \(about \d+ seconds?\)", body)
    assert "GetSessionToken" not in operations(aws_calls)


def test_enrollment_counts_complete_only_after_session_token(person, app):

    enrolled(person)
    with app.app_context():
        assert outcomes().filter_by(action="enrollment_completed").count() == 0
    wrong = person.get_credentials(token="000000")
    assert wrong.status_code == 400
    assert "did not accept this code" in wrong.get_data(as_text=True)
    # Seconds after enabling, a resync is not the fix: the page says to wait for a new code instead.
    assert "Resync your device" not in wrong.get_data(as_text=True) and "resync" not in wrong.get_data(as_text=True)
    assert "enabled a moment ago" in wrong.get_data(as_text=True)
    assert_page(person.get_credentials(), 200, "Your MFA device works. Enrollment is complete.")
    with app.app_context():
        assert outcomes().filter_by(action="enrollment_completed").count() == 1
        issued = outcomes().filter_by(action="credentials_issued", outcome="success").one()
        assert json.loads(issued.detail)["duration"] == 43200


def test_serial_is_built_from_aws_answers_not_hard_coded(person, aws_calls):
    person.enroll_fully()
    token_call = [c for c in aws_calls if c[1] == "GetSessionToken"][0]
    assert token_call[2]["SerialNumber"] == SERIAL
    assert token_call[2]["DurationSeconds"] == 43200


@pytest.mark.parametrize("duration", ["899", "129601", "abc", "-5", ""])
def test_durations_outside_bounds_never_reach_aws(person, aws_calls, duration):
    enrolled(person)
    page = person.client.post("/credentials", data={"device": SERIAL, "code": code(person.seed, 1),
                                                    "duration": duration, "profile": "default"})
    assert_page(page, 400, "Please check what you typed", "Not a valid choice.")
    assert "GetSessionToken" not in operations(aws_calls)


@pytest.mark.parametrize("duration", [900, 129600])
def test_duration_bounds_are_accepted(person, aws_calls, duration):
    enrolled(person)
    assert_page(person.get_credentials(duration=duration), 200, "Your session credentials")
    assert [c[2]["DurationSeconds"] for c in aws_calls if c[1] == "GetSessionToken"] == [duration]


def test_check_duration_service_rule():
    assert service.check_duration("900") == 900
    for bad in (899, 129_601, None, "1e3"):
        with pytest.raises(InvalidInput):
            service.check_duration(bad)


@pytest.mark.parametrize("profile", ["", "with space", "[x]", "a\nb", "-dash", "x" * 65, "prod]\n[default"])
def test_bad_profile_names_are_refused(person, aws_calls, profile):
    enrolled(person)
    page = person.get_credentials(profile=profile)
    said = "Name the profile, for example default." if not profile else "A profile name is 1 to 64 letters, digits"
    assert_page(page, 400, said)
    assert "GetSessionToken" not in operations(aws_calls)


def test_come_back_later_with_one_code_and_pick_a_device(person, client, clock, iam):
    person.enroll_fully()
    client.post("/logout")
    # A second device (allowed since 2022 where the policy scopes to mfa/*), set up outside the portal.
    from app.demo.emulator import current_code

    second = iam.create_virtual_mfa_device(VirtualMFADeviceName="new.hire-backup")["VirtualMFADevice"]
    seed2 = second["Base32StringSeed"].decode()
    iam.enable_mfa_device(UserName="new.hire", SerialNumber=second["SerialNumber"],
                          AuthenticationCode1=current_code(seed2, -1), AuthenticationCode2=current_code(seed2, 0))
    clock.advance(2)
    home = person.sign_in().get_data(as_text=True)
    assert "Get session credentials" in home
    form = client.get("/credentials").get_data(as_text=True)
    assert '<select id="device" name="device"' in form and "new.hire-backup" in form
    page = client.post("/credentials", data={"device": second["SerialNumber"], "code": current_code(seed2, 1),
                                             "duration": "3600", "profile": "work"}, follow_redirects=True)
    assert page.status_code == 200
    assert "[work]" in page.get_data(as_text=True)


def test_result_page_shows_expiry_and_every_format_without_long_term_keys(person, client):
    page = person.enroll_fully()
    body = page.get_data(as_text=True)
    for label in ("~/.aws/credentials", "bash / zsh", "fish", "PowerShell", "credential_process JSON"):
        assert label in body
    assert "They work until" in body
    assert person.user.secret_access_key not in body and person.user.access_key_id not in body
    renamed = client.get("/credentials/result?profile=ops").get_data(as_text=True)
    assert "[ops]" in renamed


def test_download_is_an_attachment_that_is_not_cached(person, client, tmp_path):
    person.enroll_fully()
    download = client.get("/credentials/download?profile=ci")
    assert download.headers["Content-Disposition"] == 'attachment; filename="credentials-ci"'
    assert download.headers["Cache-Control"] == "no-store"
    text = download.get_data(as_text=True)
    assert text.startswith("\n[ci]\n") and person.user.secret_access_key not in text
    assert_redirect(client.get("/credentials/download?profile=a%0Ab"), "/credentials/result")


def test_forget_drops_credentials(person, client):
    person.enroll_fully()
    client.post("/credentials/forget")
    assert_redirect(client.get("/credentials/result"), "/credentials")
    assert_redirect(client.get("/credentials/download"), "/credentials")


CREDS = SessionCredentials("ASIAEXAMPLEEXAMPLE12", "s3cr3t/with+chars" + "x" * 23, "FwoGZXIvYXdzE" + "t" * 200,
                           datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC))


def test_ini_block_loads_in_botocore(tmp_path, monkeypatch):
    path = tmp_path / "credentials"
    path.write_text(formats.render("ini", CREDS, "mfa"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    loaded = botocore.session.Session(profile="mfa").get_credentials()
    assert (loaded.access_key, loaded.secret_key, loaded.token) == (CREDS.access_key_id, CREDS.secret_access_key,
                                                                     CREDS.session_token)
    parser = configparser.ConfigParser()
    parser.read_string(formats.render("ini", CREDS, "mfa"))
    assert parser.sections() == ["mfa"]


def test_credential_process_json_parses():
    data = json.loads(formats.render("credential_process", CREDS))
    assert data["Version"] == 1
    assert datetime.fromisoformat(data["Expiration"].replace("Z", "+00:00")) == CREDS.expiration
    assert (data["AccessKeyId"], data["SecretAccessKey"], data["SessionToken"]) == (
        CREDS.access_key_id, CREDS.secret_access_key, CREDS.session_token)


def test_bash_exports_source_in_a_real_shell(tmp_path):
    script = tmp_path / "env.sh"
    script.write_text(formats.render("bash", CREDS))
    out = subprocess.run(["bash", "-c", f'. "{script}"; printf "%s|%s|%s" "$AWS_ACCESS_KEY_ID" '
                                        '"$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN"'],
                         capture_output=True, text=True, check=True, env={"PATH": "/usr/bin:/bin"})
    assert out.stdout == f"{CREDS.access_key_id}|{CREDS.secret_access_key}|{CREDS.session_token}"


def test_fish_and_powershell_snippets_set_the_three_variables():
    fish = formats.render("fish", CREDS)
    assert f"set -gx AWS_SESSION_TOKEN '{CREDS.session_token}'" in fish
    powershell = formats.render("powershell", CREDS)
    assert f"$Env:AWS_SECRET_ACCESS_KEY = '{CREDS.secret_access_key}'" in powershell
    if shutil.which("fish"):
        out = subprocess.run(["fish", "-c", fish + "echo $AWS_ACCESS_KEY_ID"], capture_output=True, text=True)
        assert out.stdout.strip() == CREDS.access_key_id


def test_expired_credentials_are_not_offered(person, client, monkeypatch):
    person.enroll_fully()
    later = datetime.now(UTC) + timedelta(hours=13)
    monkeypatch.setattr(SessionCredentials, "expired", lambda self, now=None: later >= self.expiration)
    assert_redirect(client.get("/credentials/result"), "/credentials")


def test_enrollment_completes_even_after_signing_out_before_the_proof(person, client, clock, app):

    enrolled(person)
    client.post("/logout")
    clock.advance(1)
    person.sign_in()
    assert_page(person.get_credentials(), 200, "Your MFA device works. Enrollment is complete.")
    clock.advance(2)
    later = person.get_credentials(token=code(person.seed))  # a later everyday use is not a second completion
    assert_page(later, 200, "Your session credentials")
    assert "Enrollment is complete" not in later.get_data(as_text=True)
    with app.app_context():
        assert outcomes().filter_by(action="enrollment_completed").count() == 1


def test_the_copied_ini_block_keeps_its_leading_blank_line_and_the_region(person, client):
    page = person.enroll_fully().get_data(as_text=True)
    # A browser drops one newline right after <pre>: the block's own blank line must come after it.
    assert re.search(r'<pre class="snippet" id="snippet-ini">\n\n\[default\]\n', page)
    assert "region = us-east-1" in page and "AWS_DEFAULT_REGION" in page


@pytest.mark.parametrize("fmt, name", [("bash", "aws-work.sh"), ("fish", "aws-work.fish"),
                                       ("powershell", "aws-work.ps1"),
                                       ("credential_process", "work-credentials.json")])
def test_every_snippet_downloads_as_a_file(person, client, fmt, name):
    page = person.enroll_fully().get_data(as_text=True)
    assert f"/credentials/download?profile=default&amp;format={fmt}" in page
    download = client.get(f"/credentials/download?profile=work&format={fmt}")
    assert download.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    assert download.headers["Cache-Control"] == "no-store"
    assert "us-east-1" in download.get_data(as_text=True) or fmt == "credential_process"
    if fmt == "credential_process":
        assert json.loads(download.get_data(as_text=True))["Version"] == 1
    assert_redirect(client.get("/credentials/download?format=exe"), "/credentials/result")


def test_the_code_page_without_a_device_says_a_device_comes_first(client, person):
    """A step-up with no device to give a code: the home page says why, and where to start (no dead end)."""
    person.sign_in()
    asked = client.get("/credentials/code?next=/security/password&why=recent")
    assert_redirect(asked, "/")
    home = client.get("/").get_data(as_text=True)
    assert "Set up an MFA device first: this step needs a code from it." in home
    assert "/enroll/start" in home

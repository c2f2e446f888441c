"""CLI profiles: ~/.aws/config blocks for the long-term key and configured roles, checked at start-up."""

from __future__ import annotations

import configparser

import pytest

from app.config import ConfigurationError, from_environment
from app.profiles import parse_roles
from conftest import make_test_app

ROLES = "admin=arn:aws:iam::123456789012:role/ops/Admin|7200 readonly=arn:aws:iam::123456789012:role/ReadOnly"


@pytest.fixture
def roles_app(moto, tmp_path):
    """The portal with two roles configured, as an operator would."""
    return make_test_app(tmp_path, CLI_ROLES=parse_roles(ROLES))


def test_role_profiles_ask_for_the_code_and_link_to_switch_role(roles_app, make_user):
    from conftest import Person

    person = Person(roles_app.test_client(), make_user("new.hire"))
    person.enroll_fully()
    page = person.client.get("/security/profiles").get_data(as_text=True)
    text = page.split('<pre class="snippet" id="snippet-config">', 1)[1].split("</pre>", 1)[0]
    config = configparser.ConfigParser()
    config.read_string(text)  # what the AWS CLI would read
    admin = config["profile admin"]
    assert admin["role_arn"] == "arn:aws:iam::123456789012:role/ops/Admin" and admin["duration_seconds"] == "7200"
    assert admin["source_profile"] == "long-term" and admin["mfa_serial"] == "arn:aws:iam::123456789012:mfa/new.hire"
    assert config["profile readonly"]["duration_seconds"] == "3600" and "profile long-term" in config
    assert "https://signin.aws.amazon.com/switchrole?roleName=ops%2FAdmin&amp;account=123456789012" in page
    assert "capped at one hour" in page
    renamed = person.client.get("/security/profiles?source=work").get_data(as_text=True)
    assert "source_profile = work" in renamed
    refused = person.client.get("/security/profiles?source=bad]name").get_data(as_text=True)
    assert "source_profile = long-term" in refused and "A profile name is" in refused


def test_without_roles_the_page_says_whom_to_ask(client, person):
    person.enroll_fully()
    page = client.get("/security/profiles").get_data(as_text=True)
    assert "CLI_ROLES" in page and "[profile long-term]" in page


@pytest.mark.parametrize("value, words", [
    ("admin=arn:aws:iam::12345:role/Admin", "not profile=arn"),
    ("admin=arn:aws:iam::123456789012:user/bob", "not profile=arn"),
    ("bad]name=arn:aws:iam::123456789012:role/Admin", "not profile=arn"),
    ("admin=arn:aws:iam::123456789012:role/Admin|99999", "900 to 43200"),
    ("a=arn:aws:iam::123456789012:role/A a=arn:aws:iam::123456789012:role/B", "share a profile name"),
])
def test_a_bad_setting_stops_start_up_naming_it(monkeypatch, value, words):
    monkeypatch.setenv("CLI_ROLES", value)
    with pytest.raises(ConfigurationError, match="CLI_ROLES") as raised:
        from_environment()
    assert words in str(raised.value)


def test_the_setting_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("CLI_ROLES", ROLES)
    assert [r.profile for r in from_environment()["CLI_ROLES"]] == ["admin", "readonly"]

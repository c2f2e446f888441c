"""Characters no honest input has (a NUL, letters outside base64) are refused in the form, plainly."""

from __future__ import annotations

import pytest
from admin_helpers import refresh, table_users
from own_helpers import rsa_public, upload, uploaded
from pages import assert_redirect

from app.errors import InvalidInput
from app.services import ssh_keys

pytest_plugins = ["admin_fixtures"]


@pytest.mark.parametrize("query", ["q=%00", "q=new%00hire", "q=%1b%5b31m"])
def test_a_control_character_in_the_admin_search_is_refused_plainly(account, admin_app, query):
    """PostgreSQL refuses a NUL in a query with an error, which was a 500 page; now the form says what is wrong."""
    assert admin_app.config["SQLALCHEMY_DATABASE_URI"]  # sqlite and postgresql (admin_fixtures' db_url)
    refresh(account.admin)
    page = account.admin.client.get(f"/admin/?{query}")
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "The search holds an invisible control character. Type part of a user name." in html
    assert len(table_users(html)) == 6  # the unfiltered list, as for any refused filter
    assert "\x00" not in html and "\x1b" not in html  # the search box shows what was typed, less the control
    export = account.admin.client.post("/admin/export", data={"q": "\x00"})
    assert_redirect(export, "/admin/", "Nothing to export yet, or the filter was not valid.",
                    client=account.admin.client)


def key_with(inserted: str) -> str:
    """A valid ssh-rsa line with a character slipped into its base64 (which the parsers would skip)."""
    kind, material, comment = rsa_public().split(" ")
    return f"{kind} {material[:40]}{inserted}{material[40:]} {comment}"


@pytest.mark.parametrize("inserted", ["\x00", "é", "あ", "\x1b", "*"])
def test_the_ssh_key_check_refuses_characters_inside_the_base64(inserted):
    with pytest.raises(InvalidInput) as refused:
        ssh_keys.check_body(key_with(inserted))
    assert "characters no key has" in refused.value.message


def test_the_ssh_key_check_refuses_them_inside_a_pem_key_too():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import load_ssh_public_key

    pem = load_ssh_public_key(rsa_public().encode()).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    assert ssh_keys.check_body(pem)  # the clean PEM passes
    lines = pem.splitlines()
    lines[2] = lines[2][:10] + "\x00" + lines[2][10:]
    with pytest.raises(InvalidInput):
        ssh_keys.check_body("\n".join(lines))


def test_clean_keys_and_their_comments_still_pass():
    line = rsa_public()
    assert ssh_keys.check_body(line) == line
    kind, material, _comment = line.split(" ")
    assert ssh_keys.check_body(f"{kind} {material} Zoë's laptop")  # Latin-1 in the comment: IAM's pattern allows it


@pytest.fixture
def enrolled(person):
    """A new hire who just enrolled: MFA session in hand, a code accepted seconds ago."""
    person.enroll_fully()
    return person


def test_a_key_with_a_nul_never_reaches_aws(client, enrolled, iam, aws_calls):
    refused = upload(client, key_with("\x00"))
    assert refused.status_code == 400
    assert "characters no key has" in refused.get_data(as_text=True)
    assert "UploadSSHPublicKey" not in [operation for _s, operation, _p, _m in aws_calls]
    assert uploaded(iam) == {}

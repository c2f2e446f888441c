"""Access keys, SSH keys and signing certificates behave alike: one description per kind drives the same views.

Each test runs for every kind; on the code before the kinds were unified, the SSH key and certificate cases failed
(no confirmation page for a certificate, refusals shown as an error page, lost deletes never found out, and the code
page sending a status change back to its POST-only path).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from own_helpers import audit_rows, fail_call, pem, rsa_public
from pages import AWS_AWAY, assert_page

from app import aws
from app.errors import AwsUnavailable


@dataclass(frozen=True)
class Kind:
    """How a test makes, reads and names one kind of credential."""

    path: str
    update: str
    delete: str
    heading: str  # the confirmation page's question
    noun: str  # how messages name one: "Key AKIA…"
    deleted_action: str

    def make(self, iam) -> str:
        """Create one for new.hire straight in AWS; return its ID."""
        if self.path.endswith("keys"):
            return iam.create_access_key(UserName="new.hire")["AccessKey"]["AccessKeyId"]
        if self.path.endswith("ssh"):
            return iam.upload_ssh_public_key(UserName="new.hire", SSHPublicKeyBody=rsa_public())[
                "SSHPublicKey"]["SSHPublicKeyId"]
        return iam.upload_signing_certificate(UserName="new.hire", CertificateBody=pem(7))["Certificate"][
            "CertificateId"]

    def status_of(self, iam) -> dict[str, str]:
        """What AWS has: {ID: status}."""
        if self.path.endswith("keys"):
            return {k["AccessKeyId"]: k["Status"]
                    for k in iam.list_access_keys(UserName="new.hire")["AccessKeyMetadata"]}
        if self.path.endswith("ssh"):
            return {k["SSHPublicKeyId"]: k["Status"]
                    for k in iam.list_ssh_public_keys(UserName="new.hire")["SSHPublicKeys"]}
        return {c["CertificateId"]: c["Status"]
                for c in iam.list_signing_certificates(UserName="new.hire")["Certificates"]}


KINDS = {
    "access key": Kind("/security/keys", "UpdateAccessKey", "DeleteAccessKey", "Delete access key {id}?", "Key {id}",
                       "access_key_deleted"),
    "ssh key": Kind("/security/ssh", "UpdateSSHPublicKey", "DeleteSSHPublicKey", "Delete SSH key {id}?",
                    "SSH key {id}", "ssh_key_deleted"),
    "certificate": Kind("/security/certificates", "UpdateSigningCertificate", "DeleteSigningCertificate",
                        "Delete signing certificate {id}?", "Certificate {id}", "signing_cert_deleted"),
}
every_kind = pytest.mark.parametrize("kind", KINDS.values(), ids=KINDS.keys())


@pytest.fixture
def enrolled(person):
    """A new hire who just enrolled: MFA session in hand, a code accepted seconds ago."""
    person.enroll_fully()
    return person


@every_kind
def test_a_delete_is_confirmed_on_its_own_page_first(app, client, enrolled, iam, kind):
    made = kind.make(iam)
    listing = client.get(kind.path).get_data(as_text=True)
    assert f'href="{kind.path}/{made}/delete"' in listing  # a link to the page, not a button that deletes
    page = client.get(f"{kind.path}/{made}/delete")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and kind.heading.format(id=made) in text
    assert "Deleting cannot be undone" in text and f'href="{kind.path}"' in text  # Cancel goes back to the list
    assert "Not sure? Deactivate it first" in text  # it is active
    assert made in kind.status_of(iam)  # asking changed nothing
    done = client.post(f"{kind.path}/{made}/delete", follow_redirects=True).get_data(as_text=True)
    assert f"{kind.noun.format(id=made)} is deleted." in done and made not in kind.status_of(iam)
    assert [o for o, _ in audit_rows(app, kind.deleted_action)] == ["attempt", "success"]


@every_kind
def test_the_confirmation_page_is_in_japanese(client, enrolled, iam, kind):
    made = kind.make(iam)
    text = client.get(f"{kind.path}/{made}/delete", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert "削除は元に戻せません" in text and f"<code>{made}</code>" in text and "Delete" not in text.split("<main")[1]


@every_kind
@pytest.mark.parametrize("code, words", [
    ("EntityTemporarilyUnmodifiable", "AWS is still applying an earlier change"),
    ("NoSuchEntity", "does not exist any more"),
])
def test_a_refused_status_change_is_said_on_the_list_page(client, enrolled, iam, monkeypatch, kind, code, words):
    made = kind.make(iam)
    fail_call(monkeypatch, kind.update, aws.AwsError(code, "", kind.update))
    page = client.post(f"{kind.path}/{made}/status", data={"status": "Inactive"}, follow_redirects=True)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and page.request.path == kind.path  # the list, not an error page
    assert words in text and kind.status_of(iam)[made] == "Active"


@every_kind
def test_a_refused_delete_is_said_on_the_confirmation_page(client, enrolled, iam, monkeypatch, kind):
    made = kind.make(iam)
    fail_call(monkeypatch, kind.delete, aws.AwsError("EntityTemporarilyUnmodifiable", "", kind.delete))
    page = client.post(f"{kind.path}/{made}/delete")
    text = page.get_data(as_text=True)
    assert page.status_code == 409 and kind.heading.format(id=made) in text  # the same page, to try again
    assert "AWS is still applying an earlier change" in text and made in kind.status_of(iam)


@every_kind
@pytest.mark.parametrize("acted", [True, False], ids=["deleted", "not deleted"])
def test_a_lost_delete_is_found_out_on_the_list_page(client, enrolled, iam, monkeypatch, kind, acted):
    made = kind.make(iam)
    fail_call(monkeypatch, kind.delete, AwsUnavailable(may_have_acted=True), after=acted)
    assert_page(client.post(f"{kind.path}/{made}/delete"), 503, AWS_AWAY)
    monkeypatch.undo()
    text = client.get(kind.path).get_data(as_text=True)
    noun = kind.noun.format(id=made)
    noun = noun if noun.startswith("SSH") else noun[0].lower() + noun[1:]  # "key AKIA…" inside the sentence
    if acted:
        assert f"AWS did delete {noun} on your last attempt, although its answer was lost." in text
    else:
        assert f"Your last attempt did not delete {noun}. It still works." in text
    again = client.get(kind.path).get_data(as_text=True)
    assert "your last attempt" not in again.lower()  # said once


@every_kind
def test_the_code_page_brings_a_status_change_back_to_the_list(client, person, iam, kind):
    person.sign_in()  # no MFA session yet
    made = kind.make(iam)
    asked = client.post(f"{kind.path}/{made}/status", data={"status": "Inactive"})
    # The status path takes only POST: sent back there, the browser's GET would find a 405.
    assert asked.status_code == 302 and parse_qs(urlsplit(asked.location).query)["next"] == [kind.path]
    assert kind.status_of(iam)[made] == "Active"

"""SSH public keys for CodeCommit: checked as IAM checks them, uploaded, switched, deleted."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from own_helpers import audit_rows, fail_call, rsa_public, upload, uploaded
from pages import NOT_FOUND, assert_page, assert_redirect

from app import aws


@pytest.fixture
def enrolled(person):
    """A new hire who just enrolled: MFA session in hand, a code accepted seconds ago."""
    person.enroll_fully()
    return person


def test_upload_list_config_lines_status_and_delete(app, client, enrolled, iam):
    done = upload(client, rsa_public())
    assert_redirect(done, "/security/ssh")
    (key_id,) = uploaded(iam)
    page = client.get("/security/ssh").get_data(as_text=True)
    assert f"Host git-codecommit.*.amazonaws.com\n  User {key_id}\n  IdentityFile ~/.ssh/codecommit_rsa" in page
    client.post(f"/security/ssh/{key_id}/status", data={"status": "Inactive"})
    assert uploaded(iam) == {key_id: "Inactive"}
    assert "stop working at once" in client.get(f"/security/ssh/{key_id}/delete").get_data(as_text=True)
    client.post(f"/security/ssh/{key_id}/delete")
    assert uploaded(iam) == {}
    assert [o for o, d in audit_rows(app, "ssh_key_uploaded")] == ["attempt", "success"]
    assert key_id in audit_rows(app, "ssh_key_uploaded")[1][1]
    assert [o for o, _ in audit_rows(app, "ssh_key_deleted")] == ["attempt", "success"]


def test_a_key_pasted_across_lines_is_joined(client, enrolled, iam):
    kind, material, comment = rsa_public().split(" ")
    upload(client, f"  {kind}\n{material[:60]}\n{material[60:]} {comment}\n")
    assert len(uploaded(iam)) == 1


def ed25519_line() -> str:
    """A modern key IAM does not take."""
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


@pytest.mark.parametrize("body, words", [
    (lambda: ed25519_line(), "IAM accepts only RSA keys (ssh-rsa or PEM), not ssh-ed25519"),
    (lambda: rsa_public(1024), "at least 2048 bits"),
    (lambda: rsa_public()[:120], "damaged"),
    (lambda: "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----", "private key"),
    (lambda: "x" * 20_000, "far too long"),
])
def test_bad_keys_are_refused_before_aws(client, enrolled, iam, body, words):
    refused = upload(client, body())
    assert refused.status_code == 400 and words in refused.get_data(as_text=True)
    assert uploaded(iam) == {}


def test_aws_refuses_a_duplicate_and_a_sixth_key(client, enrolled, iam):
    upload(client, rsa_public())
    again = upload(client, rsa_public())
    assert again.status_code == 400 and "may already be uploaded" in again.get_data(as_text=True)
    for n in range(1, 5):
        upload(client, rsa_public(2048, n))
    sixth = upload(client, rsa_public(2048, 5))
    assert sixth.status_code == 409 and "AWS allows 5 SSH public keys" in sixth.get_data(as_text=True)
    assert len(uploaded(iam)) == 5


def test_upload_needs_a_recent_code(client, enrolled, iam, clock):
    clock.advance(11)
    asked = upload(client, rsa_public())
    assert asked.status_code == 302 and asked.location.endswith("/credentials/code?next=/security/ssh&why=recent")
    assert uploaded(iam) == {}


def test_access_denied_names_the_action(client, enrolled, iam, monkeypatch):
    fail_call(monkeypatch, "UploadSSHPublicKey", aws.AwsAccessDenied("iam:UploadSSHPublicKey"))
    refused = upload(client, rsa_public())
    assert refused.status_code == 403 and "iam:UploadSSHPublicKey" in refused.get_data(as_text=True)


def test_someone_elses_key_is_not_found(client, enrolled, iam, make_user):
    make_user("victim")
    theirs = iam.upload_ssh_public_key(UserName="victim", SSHPublicKeyBody=rsa_public())["SSHPublicKey"]
    assert_page(client.post(f"/security/ssh/{theirs['SSHPublicKeyId']}/delete"), 404, NOT_FOUND)
    assert len(iam.list_ssh_public_keys(UserName="victim")["SSHPublicKeys"]) == 1

"""Signing certificates: a PEM checked before AWS, uploaded, switched, deleted; AWS's limit of two."""

from __future__ import annotations

import pytest
from own_helpers import audit_rows, pem
from pages import assert_redirect


@pytest.fixture
def enrolled(person):
    """A new hire who just enrolled: MFA session in hand, a code accepted seconds ago."""
    person.enroll_fully()
    return person


def certs(iam):
    """The user's certificates as AWS has them: {id: status}."""
    return {c["CertificateId"]: c["Status"] for c in iam.list_signing_certificates(UserName="new.hire")["Certificates"]}


def test_upload_switch_and_delete(app, client, enrolled, iam):
    assert_redirect(client.post("/security/certificates", data={"body": pem()}), "/security/certificates")
    (cert_id,) = certs(iam)
    page = client.get("/security/certificates").get_data(as_text=True)
    assert cert_id in page and "Active" in page
    client.post(f"/security/certificates/{cert_id}/status", data={"status": "Inactive"})
    assert certs(iam) == {cert_id: "Inactive"}
    client.post(f"/security/certificates/{cert_id}/delete")
    assert certs(iam) == {}
    assert cert_id in audit_rows(app, "signing_cert_uploaded")[1][1]
    assert [o for o, _ in audit_rows(app, "signing_cert_deleted")] == ["attempt", "success"]


@pytest.mark.parametrize("body, words", [
    ("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----", "private key"),
    ("hello", "one PEM block"),
    (lambda: pem()[:200] + "\n-----END CERTIFICATE-----", "damaged"),
])
def test_bad_certificates_are_refused_before_aws(client, enrolled, iam, body, words):
    refused = client.post("/security/certificates", data={"body": body() if callable(body) else body})
    assert refused.status_code == 400 and words in refused.get_data(as_text=True)
    assert certs(iam) == {}


def test_a_third_certificate_is_refused_by_aws(client, enrolled, iam):
    for n in range(2):
        client.post("/security/certificates", data={"body": pem(n)})
    third = client.post("/security/certificates", data={"body": pem(2)})
    assert third.status_code == 409 and "AWS allows 2 signing certificates" in third.get_data(as_text=True)
    assert len(certs(iam)) == 2


def test_certificates_need_an_mfa_session_and_uploads_a_recent_code(client, person, iam, clock):
    person.sign_in()
    assert "/credentials" in client.get("/security/certificates").location
    person.start_enrollment()
    person.verify()
    person.get_credentials()
    clock.advance(11)
    asked = client.post("/security/certificates", data={"body": pem()})
    assert asked.status_code == 302
    assert asked.location.endswith("/credentials/code?next=/security/certificates&why=recent")
    assert certs(iam) == {}

"""Every change names its target: pressed twice (or retried after a lost answer), the second changes nothing."""

from __future__ import annotations

import pytest
from own_helpers import audit_rows, pem, rsa_public
from pages import BAD_REQUEST, assert_page, assert_redirect


@pytest.fixture
def enrolled(person):
    """A new hire who just enrolled: MFA session in hand, a code accepted seconds ago."""
    person.enroll_fully()
    return person


def statuses(iam):
    """The user's access keys as AWS has them: {id: status}."""
    return {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName="new.hire")["AccessKeyMetadata"]}


def twice(client, url, data=None):
    """Send the same form twice, as a double click does; return the second answer's page, followed."""
    client.post(url, data=data)
    return client.post(url, data=data, follow_redirects=True).get_data(as_text=True)


def test_deactivate_twice_leaves_the_key_inactive_and_says_so(app, client, enrolled, iam):
    other = iam.create_access_key(UserName="new.hire")["AccessKey"]["AccessKeyId"]
    page = twice(client, f"/security/keys/{other}/status", {"status": "Inactive"})
    assert statuses(iam)[other] == "Inactive"
    assert f"Key {other} is already inactive." in page and "is now active" not in page
    assert [o for o, _ in audit_rows(app, "access_key_status")] == ["attempt", "success"]  # AWS was asked once
    page = twice(client, f"/security/keys/{other}/status", {"status": "Active"})
    assert f"Key {other} is already active." in page
    assert statuses(iam)[other] == "Active"


def test_a_status_change_must_name_its_target(client, enrolled, iam):
    other = iam.create_access_key(UserName="new.hire")["AccessKey"]["AccessKeyId"]
    assert_page(client.post(f"/security/keys/{other}/status"), 400, BAD_REQUEST)
    assert_page(client.post(f"/security/keys/{other}/status", data={"status": "Deleted"}), 400, BAD_REQUEST)
    page = client.get("/security/keys").get_data(as_text=True)
    assert '<input type="hidden" name="status" value="Inactive">' in page


def test_ssh_key_deactivated_twice_stays_inactive(client, enrolled, iam):
    client.post("/security/ssh", data={"body": rsa_public()})
    key_id = iam.list_ssh_public_keys(UserName="new.hire")["SSHPublicKeys"][0]["SSHPublicKeyId"]
    page = twice(client, f"/security/ssh/{key_id}/status", {"status": "Inactive"})
    assert iam.list_ssh_public_keys(UserName="new.hire")["SSHPublicKeys"][0]["Status"] == "Inactive"
    assert f"SSH key {key_id} is already inactive." in page


def test_certificate_deactivated_twice_stays_inactive(client, enrolled, iam):
    client.post("/security/certificates", data={"body": pem()})
    cert_id = iam.list_signing_certificates(UserName="new.hire")["Certificates"][0]["CertificateId"]
    page = twice(client, f"/security/certificates/{cert_id}/status", {"status": "Inactive"})
    assert iam.list_signing_certificates(UserName="new.hire")["Certificates"][0]["Status"] == "Inactive"
    assert f"Certificate {cert_id} is already inactive." in page


def test_deleting_twice_says_it_is_already_deleted(client, enrolled, iam):
    other = iam.create_access_key(UserName="new.hire")["AccessKey"]["AccessKeyId"]
    assert f"Key {other} is already deleted." in twice(client, f"/security/keys/{other}/delete")
    client.post("/security/ssh", data={"body": rsa_public()})
    key_id = iam.list_ssh_public_keys(UserName="new.hire")["SSHPublicKeys"][0]["SSHPublicKeyId"]
    assert f"SSH key {key_id} is already deleted." in twice(client, f"/security/ssh/{key_id}/delete")
    client.post("/security/certificates", data={"body": pem()})
    cert_id = iam.list_signing_certificates(UserName="new.hire")["Certificates"][0]["CertificateId"]
    assert f"Certificate {cert_id} is already deleted." in twice(client, f"/security/certificates/{cert_id}/delete")


def test_removing_a_device_twice_says_it_is_already_removed(client, enrolled, iam):
    from own_helpers import TOKEN, add_token

    assert_redirect(add_token(client), "/security/devices")
    page = twice(client, f"/security/devices/remove/{TOKEN}")
    assert f"The device {TOKEN} is already removed." in page
    assert [d["SerialNumber"] for d in iam.list_mfa_devices(UserName="new.hire")["MFADevices"]] == [
        "arn:aws:iam::123456789012:mfa/new.hire"]


def test_setting_a_password_twice_says_it_is_already_set(client, enrolled):
    form = {"intent": "set", "new": "Correct-Horse-42", "confirm": "Correct-Horse-42"}
    page = twice(client, "/security/password", form)
    assert "Your console password is already set" in page


def test_rotate_pressed_twice_shows_the_one_new_key(client, enrolled, iam):
    # Rotating the key in use takes a code typed on the page; the second press is caught before its code is read.
    client.post("/security/keys/rotate", data={"profile": "long-term", **enrolled.code_here()})
    page = client.post("/security/keys/rotate", data={"profile": "long-term", **enrolled.code_here()},
                       follow_redirects=True)
    text = page.get_data(as_text=True)
    assert 'id="new-key-secret"' in text and "Your new key is already made" in text
    assert len(iam.list_access_keys(UserName="new.hire")["AccessKeyMetadata"]) == 2

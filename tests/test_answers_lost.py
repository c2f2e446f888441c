"""Lost answers: AWS acts and its answer never arrives; nothing is resent, the next page finds out what AWS did."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from own_helpers import audit_rows, pem, rsa_public
from pages import assert_redirect

from app import aws
from app.errors import AwsUnavailable


@pytest.fixture
def lossy_aws(moto, tcp_proxy):
    """The emulator as a server on 127.0.0.1 behind a proxy that can lose its answers; yields (endpoint, proxy)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    proxy = tcp_proxy(server.get_host_and_port()[1])
    yield f"http://{proxy.url_host}", proxy
    server.stop()


def test_a_change_whose_answer_is_lost_is_sent_once(lossy_aws, iam, make_user):
    endpoint, proxy = lossy_aws
    user = make_user("lost.answer")
    # Out of the force-MFA group: the emulator, like AWS, refuses CreateAccessKey to a long-term key under it.
    iam.remove_user_from_group(GroupName="mfa-required", UserName=user.name)
    settings = aws.Settings("us-east-1", endpoint, connect_timeout=2, read_timeout=2, max_attempts=3)
    client = aws.client("iam", aws.Keys(user.access_key_id, user.secret_access_key), settings)
    proxy.cut("lose-answers")
    with pytest.raises(AwsUnavailable) as lost:
        aws.call(client, "CreateAccessKey", UserName=user.name)
    assert lost.value.may_have_acted
    assert proxy.answers_lost == 1
    assert len(iam.list_access_keys(UserName=user.name)["AccessKeyMetadata"]) == 2  # the user's own and one more


def _params(iam, user_name: str) -> dict[str, dict]:
    """One change of each kind on the user, ready to send."""
    other = iam.create_access_key(UserName=user_name)["AccessKey"]["AccessKeyId"]
    return {
        "CreateAccessKey": {"UserName": user_name},
        "DeleteAccessKey": {"UserName": user_name, "AccessKeyId": other},
        "UpdateAccessKey": {"UserName": user_name, "AccessKeyId": other, "Status": "Inactive"},
        "CreateLoginProfile": {"UserName": user_name, "Password": "Correct-Horse-42"},
        "UploadSSHPublicKey": {"UserName": user_name, "SSHPublicKeyBody": rsa_public()},
        "UploadSigningCertificate": {"UserName": user_name, "CertificateBody": pem()},
        "CreateVirtualMFADevice": {"VirtualMFADeviceName": "spare"},
    }


@pytest.mark.parametrize("operation", ["CreateAccessKey", "DeleteAccessKey", "UpdateAccessKey", "CreateLoginProfile",
                                       "UploadSSHPublicKey", "UploadSigningCertificate", "CreateVirtualMFADevice"])
def test_no_change_is_resent_after_its_answer_is_lost(lossy_aws, iam, make_user, operation):
    endpoint, proxy = lossy_aws
    user = make_user("lost.answer")
    params = _params(iam, user.name)[operation]
    settings = aws.Settings("us-east-1", endpoint, connect_timeout=2, read_timeout=2, max_attempts=3)
    client = aws.client("iam", aws.Keys(user.access_key_id, user.secret_access_key), settings)
    proxy.cut("lose-answers")
    with pytest.raises(AwsUnavailable) as lost:
        aws.call(client, operation, **params)
    assert lost.value.may_have_acted and proxy.answers_lost == 1


def test_reads_are_still_retried(lossy_aws, iam, make_user):
    endpoint, proxy = lossy_aws
    user = make_user("lost.answer")
    settings = aws.Settings("us-east-1", endpoint, connect_timeout=2, read_timeout=2, max_attempts=3)
    client = aws.client("iam", aws.Keys(user.access_key_id, user.secret_access_key), settings)
    proxy.cut("lose-answers")
    with pytest.raises(AwsUnavailable):
        aws.call(client, "ListAccessKeys", UserName=user.name)
    assert proxy.answers_lost == 3


def test_a_change_is_resent_only_when_it_never_left_or_aws_refused_to_start():
    from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

    from app.aws import _resend_only_reads

    class Operation:
        def __init__(self, name):
            self.name = name

    never_left = EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
    waited = ReadTimeoutError(endpoint_url="http://127.0.0.1:1")
    throttled = (None, {"Error": {"Code": "Throttling"}})
    broken = (None, {"Error": {"Code": "InternalFailure"}})
    change, code, read = Operation("CreateAccessKey"), Operation("GetSessionToken"), Operation("ListAccessKeys")
    # None: botocore's own handler decides (and retries); False: never resent.
    assert _resend_only_reads(change, caught_exception=never_left) is None
    assert _resend_only_reads(change, response=throttled) is None
    assert _resend_only_reads(change, caught_exception=waited) is False
    assert _resend_only_reads(change, response=broken) is False
    assert _resend_only_reads(code, caught_exception=waited) is False
    assert _resend_only_reads(read, caught_exception=waited) is None
    assert _resend_only_reads(read, response=broken) is None


@pytest.fixture
def enrolled(person):
    """A new hire who just enrolled: MFA session in hand, a code accepted seconds ago."""
    person.enroll_fully()
    return person


@contextmanager
def answer_lost(app, lossy_aws, operation: str):
    """Inside the block, the portal talks to AWS through the proxy, and AWS's answers to `operation` are lost."""
    endpoint, proxy = lossy_aws
    app.config["AWS_ENDPOINT_URL"] = endpoint
    proxy.cut("lose-answers", only=f"Action={operation}&".encode())
    try:
        yield proxy
    finally:
        proxy.heal()


def assert_answer_lost_page(page) -> None:
    """The 503 page says the answer was lost, not 'nothing was lost'."""
    text = page.get_data(as_text=True)
    assert page.status_code == 503, text[:500]
    assert "answer to this change was lost" in text and "nothing was lost" not in text


def test_rotation_answer_lost_makes_one_key_and_the_keys_page_offers_to_delete_it(app, client, enrolled, iam,
                                                                                     lossy_aws):
    with answer_lost(app, lossy_aws, "CreateAccessKey") as proxy:
        assert_answer_lost_page(client.post("/security/keys/rotate",
                                            data={"profile": "long-term", **enrolled.code_here()}))
    assert proxy.answers_lost == 1
    keys = [k["AccessKeyId"] for k in iam.list_access_keys(UserName="new.hire")["AccessKeyMetadata"]]
    assert len(keys) == 2  # the one in use and exactly one more, which nobody saw
    (orphan,) = [k for k in keys if k != enrolled.user.access_key_id]
    assert [o for o, _ in audit_rows(app, "access_key_created")] == ["attempt", "unknown"]
    page = client.get("/security/keys").get_data(as_text=True)
    assert "nobody has ever seen its secret" in page and f"Delete {orphan}" in page


def test_ssh_upload_answer_lost_is_found_uploaded(app, client, enrolled, iam, lossy_aws):
    with answer_lost(app, lossy_aws, "UploadSSHPublicKey"):
        assert_answer_lost_page(client.post("/security/ssh", data={"body": rsa_public()}))
    (key,) = iam.list_ssh_public_keys(UserName="new.hire")["SSHPublicKeys"]
    assert [o for o, _ in audit_rows(app, "ssh_key_uploaded")] == ["attempt", "unknown"]
    page = client.get("/security/ssh").get_data(as_text=True)
    assert f"Your last upload did reach AWS: SSH key {key['SSHPublicKeyId']} is uploaded." in page
    assert "Your last upload" not in client.get("/security/ssh").get_data(as_text=True)  # said once


def test_ssh_upload_that_never_left_is_found_missing(app, client, enrolled, iam, lossy_aws):
    endpoint, proxy = lossy_aws
    app.config["AWS_ENDPOINT_URL"] = endpoint
    proxy.cut("refuse")
    refused = client.post("/security/ssh", data={"body": rsa_public()})
    assert refused.status_code == 503 and "nothing was lost" in refused.get_data(as_text=True)
    proxy.heal()
    assert "Your last upload" not in client.get("/security/ssh").get_data(as_text=True)  # nothing to find out


def test_certificate_upload_answer_lost_is_found_uploaded(app, client, enrolled, iam, lossy_aws):
    with answer_lost(app, lossy_aws, "UploadSigningCertificate"):
        assert_answer_lost_page(client.post("/security/certificates", data={"body": pem()}))
    (cert,) = iam.list_signing_certificates(UserName="new.hire")["Certificates"]
    page = client.get("/security/certificates").get_data(as_text=True)
    assert f"Your last upload did reach AWS: certificate {cert['CertificateId']} is uploaded." in page


def test_first_password_answer_lost_is_found_set(app, client, enrolled, lossy_aws):
    form = {"intent": "set", "new": "Correct-Horse-42", "confirm": "Correct-Horse-42"}
    with answer_lost(app, lossy_aws, "CreateLoginProfile"):
        assert_answer_lost_page(client.post("/security/password", data=form))
    assert [o for o, _ in audit_rows(app, "console_password_set")] == ["attempt", "unknown"]
    page = client.get("/security/password").get_data(as_text=True)
    assert "AWS did set your console password on your last attempt" in page
    again = client.post("/security/password", data=form, follow_redirects=True).get_data(as_text=True)
    assert "Your console password is already set" in again  # a retry does not meet EntityAlreadyExists


def test_key_deletion_answer_lost_is_found_deleted(app, client, enrolled, iam, lossy_aws):
    other = iam.create_access_key(UserName="new.hire")["AccessKey"]["AccessKeyId"]
    with answer_lost(app, lossy_aws, "DeleteAccessKey"):
        assert_answer_lost_page(client.post(f"/security/keys/{other}/delete"))
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName="new.hire")["AccessKeyMetadata"]] == [
        enrolled.user.access_key_id]
    page = client.get("/security/keys").get_data(as_text=True)
    assert f"AWS did delete key {other} on your last attempt" in page
    assert f"Key {other} is already deleted." in client.post(
        f"/security/keys/{other}/delete", follow_redirects=True).get_data(as_text=True)


def test_deactivation_answer_lost_then_retried_stays_inactive(app, client, enrolled, iam, lossy_aws):
    other = iam.create_access_key(UserName="new.hire")["AccessKey"]["AccessKeyId"]
    with answer_lost(app, lossy_aws, "UpdateAccessKey"):
        assert_answer_lost_page(client.post(f"/security/keys/{other}/status", data={"status": "Inactive"}))
    retry = client.post(f"/security/keys/{other}/status", data={"status": "Inactive"}, follow_redirects=True)
    assert f"Key {other} is already inactive." in retry.get_data(as_text=True)
    keys = iam.list_access_keys(UserName="new.hire")["AccessKeyMetadata"]
    assert {k["AccessKeyId"]: k["Status"] for k in keys}[other] == "Inactive"
    assert [o for o, _ in audit_rows(app, "access_key_status")] == ["attempt", "unknown"]  # AWS was asked once


def test_device_removal_answer_lost_is_found_removed(app, client, enrolled, iam, lossy_aws):
    from own_helpers import TOKEN, add_token

    assert_redirect(add_token(client), "/security/devices")
    with answer_lost(app, lossy_aws, "DeactivateMFADevice"):
        assert_answer_lost_page(client.post(f"/security/devices/remove/{TOKEN}"))
    page = client.get("/security/devices").get_data(as_text=True)
    assert f"AWS did remove your device {TOKEN} on your last attempt" in page


def test_hardware_token_answer_lost_is_found_enabled(app, client, enrolled, iam, lossy_aws):
    """The 503 page says the answer was lost (not "nothing was lost"); the device list then says AWS enabled it."""
    from own_helpers import TOKEN, add_token

    with answer_lost(app, lossy_aws, "EnableMFADevice"):
        assert_answer_lost_page(add_token(client))
    assert TOKEN in [d["SerialNumber"] for d in iam.list_mfa_devices(UserName="new.hire")["MFADevices"]]
    page = client.get("/security/devices").get_data(as_text=True)
    assert f"AWS did enable your hardware token {TOKEN} on your last attempt" in page


@pytest.mark.services
def test_the_store_failing_after_create_access_key_gives_the_503_page_and_the_next_visit_offers_deletion(
        moto, tmp_path, redis_url, tcp_proxy, iam, make_user, monkeypatch):
    from outage_helpers import settings

    from app import create_app
    from app.services import access_keys
    from conftest import Person

    proxy = tcp_proxy(6379)
    app = create_app(settings(tmp_path, REDIS_URL=redis_url.replace("127.0.0.1:6379", proxy.url_host),
                              SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/portal.sqlite"))
    person = Person(app.test_client(), make_user("new.hire"))
    person.enroll_fully()
    real_create = access_keys.create_key

    def create_then_lose_the_store(*args):
        made = real_create(*args)
        proxy.cut("refuse")  # Redis goes away between AWS's answer and the session's save
        return made

    monkeypatch.setattr(access_keys, "create_key", create_then_lose_the_store)
    page = person.client.post("/security/keys/rotate", data={"profile": "long-term", **person.code_here()})
    text = page.get_data(as_text=True)
    (made,) = [k["AccessKeyId"] for k in iam.list_access_keys(UserName="new.hire")["AccessKeyMetadata"]
               if k["AccessKeyId"] != person.user.access_key_id]
    assert page.status_code == 503, text[:500]
    assert f"AWS made your new key {made}, but the portal could not keep its secret" in text
    assert "Traceback" not in text and 'id="new-key-secret"' not in text
    assert [o for o, _ in audit_rows(app, "access_key_secret_lost")] == ["failure"]

    proxy.heal()
    monkeypatch.undo()
    keys = person.client.get("/security/keys")
    text = keys.get_data(as_text=True)
    assert keys.status_code == 200, text[:500]
    assert "the portal lost its secret before showing it" in text and f"Delete {made}" in text
    rotate = person.client.get("/security/keys/rotate").get_data(as_text=True)
    assert "the portal lost its secret before showing it" in rotate
    person.client.post(f"/security/keys/{made}/delete")
    assert "lost its secret" not in person.client.get("/security/keys").get_data(as_text=True)

"""Lost answers: AWS acts and its answer never arrives; nothing is resent, the next page finds out what AWS did."""

from __future__ import annotations

import pytest
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

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
    from test_own_certificates import pem
    from test_own_ssh_keys import rsa_public

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

"""Shared botocore clients: made once per (service, settings), yet every call signed with its caller's own keys."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from app import aws

ROUNDS = 40


def test_one_botocore_client_serves_everyone_with_the_same_settings():
    settings = aws.Settings()
    first = aws.client("iam", aws.Keys("AKIAFIRSTFIRSTFIRST1", "a" * 40), settings)
    second = aws.client("iam", aws.Keys("AKIASECONDSECONDSEC2", "b" * 40), settings)
    other_region = aws.client("iam", first.keys, aws.Settings(region="eu-west-1"))
    assert first.botocore_client is second.botocore_client
    assert other_region.botocore_client is not first.botocore_client
    assert aws.client("sts", first.keys, settings).botocore_client is not first.botocore_client


def test_two_people_calling_at_once_never_sign_with_each_others_keys(make_user):
    """Both threads hammer one shared STS client; AWS (moto) names the user behind each signature."""
    people = [make_user("alice"), make_user("bob")]
    settings = aws.Settings()
    signed_with: dict[str, set[str]] = {"alice": set(), "bob": set()}
    whose_thread: dict[int, str] = {}

    def note_signature(request, **_):
        # Runs after signing, in the thread that sends: the key ID in the Authorization header is what AWS sees.
        key_id = request.headers["Authorization"].decode().split("Credential=")[1].split("/")[0]
        signed_with[whose_thread[threading.get_ident()]].add(key_id)

    shared = aws.client("sts", aws.Keys(people[0].access_key_id, people[0].secret_access_key), settings)
    shared.meta.events.register("before-send.sts.GetCallerIdentity", note_signature)
    start = threading.Barrier(len(people))

    def work(person) -> set[str]:
        whose_thread[threading.get_ident()] = person.name
        sts = aws.client("sts", aws.Keys(person.access_key_id, person.secret_access_key), settings)
        start.wait()
        return {aws.call(sts, "GetCallerIdentity")["Arn"] for _ in range(ROUNDS)}

    try:
        with ThreadPoolExecutor(len(people)) as pool:
            arns = dict(zip(("alice", "bob"), pool.map(work, people), strict=True))
    finally:
        shared.meta.events.unregister("before-send.sts.GetCallerIdentity", note_signature)
    assert arns == {"alice": {"arn:aws:iam::123456789012:user/alice"}, "bob": {"arn:aws:iam::123456789012:user/bob"}}
    assert signed_with == {"alice": {people[0].access_key_id}, "bob": {people[1].access_key_id}}


def test_no_keys_remain_after_a_call_or_a_failed_one(make_user):
    person = make_user()
    sts = aws.client("sts", aws.Keys(person.access_key_id, person.secret_access_key), aws.Settings())
    aws.call(sts, "GetCallerIdentity")
    with pytest.raises(aws.PortalError):
        aws.call(sts, "GetSessionToken", SerialNumber="arn:aws:iam::123456789012:mfa/nobody", TokenCode="123456")
    assert aws._signing_keys.get() is None
    # Nothing but a call signs: a request made around aws.call finds no keys instead of someone else's.
    with pytest.raises(RuntimeError, match="outside aws.call"):
        sts.botocore_client.get_caller_identity()


def test_botocore_still_takes_the_portals_credential_provider():
    """aws.py keeps two botocore internals: the session component "credential_provider" and a Credentials
    subclass read at every signing. They let one client per (service, settings) serve everyone; botocore's
    public route (keys given to create_client) makes a client per person, and creating one costs ~10 ms
    (IAM) / ~5 ms (STS) of CPU: 425 -> 310 ms of worker CPU per enrollment (bench/README.md). This fails
    first if botocore renames the component or stops resolving credentials through it; the test above
    fails if it stops reading them at each signing."""
    aws.client("sts", aws.Keys("AKIAFIRSTFIRSTFIRST1", "a" * 40), aws.Settings())
    resolver = aws._session.get_component("credential_provider")
    assert [type(provider) for provider in resolver.providers] == [aws._PersonsKeysProvider]
    assert isinstance(resolver.load_credentials(), aws._PersonsKeys)


def test_pages_hold_the_keys_only_while_fetching(make_user, iam):
    person = make_user()
    for n in range(3):
        iam.create_user(UserName=f"extra{n}")
    caller = aws.client("iam", aws.Keys(person.access_key_id, person.secret_access_key), aws.Settings())
    names = []
    for user in aws.pages(caller, "ListUsers", "Users"):
        assert aws._signing_keys.get() is None  # the caller's loop body runs without keys set
        names.append(user["UserName"])
    assert sorted(names) == ["extra0", "extra1", "extra2", "new.hire"]


def test_watching_calls_sees_only_this_threads_calls(make_user):
    person = make_user()
    sts = aws.client("sts", aws.Keys(person.access_key_id, person.secret_access_key), aws.Settings())
    with aws.watch_calls() as mine:
        aws.call(sts, "GetCallerIdentity")
        other = threading.Thread(target=aws.call, args=(sts, "GetCallerIdentity"))
        other.start()
        other.join()
    assert mine == [("sts", "GetCallerIdentity", {}, False)]


def test_the_shipped_aws_data_is_botocores_own_for_what_the_portal_calls():
    from tools import aws_data

    # After a botocore upgrade, or once app/ names an IAM operation it did not before, this fails until
    # `.venv/bin/python -m tools.aws_data` rewrites the copies.
    for path, text in aws_data.files().items():
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run python -m tools.aws_data"
    shipped = {str(p.relative_to(aws_data.DATA)) for p in aws_data.DATA.rglob("*.json")}
    assert shipped == {str(p.relative_to(aws_data.DATA)) for p in aws_data.files()}


def test_the_trimmed_iam_model_keeps_every_operation_the_portal_names():
    import json

    from tools import aws_data

    version, model = aws_data.trimmed_model("iam")
    kept = set(model["operations"])
    assert {"CreateVirtualMFADevice", "EnableMFADevice", "ListMFADevices", "ResyncMFADevice", "ListUsers",
            "GenerateCredentialReport", "CreateAccessKey", "UploadSSHPublicKey"} <= kept
    assert "CreateRole" not in kept and "documentation" not in json.dumps(model)
    client = aws.client("iam", aws.Keys("AKIAABCDEFGHIJKLMNOP", "s" * 40), aws.Settings("us-east-1", None, 3, 5, 2))
    assert client.botocore_client.meta.service_model.api_version == version
    assert set(client.botocore_client.meta.service_model.operation_names) == kept  # botocore reads the copy
    sts = aws.client("sts", aws.Keys("AKIAABCDEFGHIJKLMNOP", "s" * 40), aws.Settings("us-east-1", None, 3, 5, 2))
    assert set(sts.botocore_client.meta.service_model.operation_names) == {"GetCallerIdentity", "GetSessionToken"}


@pytest.mark.parametrize("service, region, url", [
    ("sts", "us-east-1", "https://sts.us-east-1.amazonaws.com"),
    ("iam", "us-east-1", "https://iam.amazonaws.com"),
    ("sts", "cn-north-1", "https://sts.cn-north-1.amazonaws.com.cn"),
    ("iam", "cn-north-1", "https://iam.cn-north-1.amazonaws.com.cn"),
    ("iam", "us-gov-west-1", "https://iam.us-gov.amazonaws.com"),
    ("sts", "eu-west-1", "https://sts.eu-west-1.amazonaws.com")])
def test_clients_built_on_the_trimmed_data_reach_each_partitions_endpoints(service, region, url):
    made = aws.client(service, aws.Keys("AKIAABCDEFGHIJKLMNOP", "s" * 40), aws.Settings(region, None, 3, 5, 2))
    assert made.botocore_client.meta.endpoint_url == url

"""AWS faults: a clear 503 within 15 s, never a hang or a 500; every half-finished enrollment recovers on retry."""

from __future__ import annotations

import time
from contextlib import contextmanager

import pytest
from pages import assert_page, assert_redirect

from app import aws
from app.errors import AwsUnavailable
from conftest import Clock, Person, code, make_test_app
from security_helpers import answering_server, audit_actions, aws_error_xml, closed_port, read_seed, silent_server

PROMISE_SECONDS = 15


def assert_try_again_page(page) -> None:
    """The page says AWS is not answering and to try again, as a 503."""
    body = page.get_data(as_text=True)
    assert page.status_code == 503, body[:500]
    assert "AWS is not answering" in body
    assert "try again" in body
    assert "Traceback" not in body


def timed(request):
    """Run a request; return its response and how long it took."""
    started = time.monotonic()
    page = request()
    return page, time.monotonic() - started


def test_default_timeouts_keep_the_promise(app):
    config = app.config
    worst_call = config["AWS_MAX_ATTEMPTS"] * max(config["AWS_CONNECT_TIMEOUT"], config["AWS_READ_TIMEOUT"]) + 1
    assert worst_call < PROMISE_SECONDS
    made = aws.client("sts", aws.Keys("AKIAABCDEFGHIJKLMNOP", "s" * 40), aws.Settings.from_config(config))
    assert (made.meta.config.connect_timeout, made.meta.config.read_timeout) == (3, 5)
    assert made.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 2}


@contextmanager
def closed_endpoint():
    """An endpoint where connections are refused."""
    with closed_port() as port:
        yield f"http://127.0.0.1:{port}"


def throttling_endpoint():
    """An endpoint that answers Throttling; time runs again, as botocore's adaptive retries wait for it."""
    Clock.run()
    return answering_server(400, aws_error_xml("Throttling"))


ENDPOINTS = {
    "connection refused": closed_endpoint,
    "HTTP 500 from a proxy": lambda: answering_server(500, b"<html>Bad gateway</html>", "text/html"),
    "HTTP 503 ServiceUnavailable": lambda: answering_server(503, aws_error_xml("ServiceUnavailable")),
    "throttled": throttling_endpoint,
    "garbled 200": lambda: answering_server(200, b"\x00\xffnot xml", "application/octet-stream"),
}


@pytest.mark.parametrize("fault", ENDPOINTS)
def test_sign_in_against_a_failing_endpoint_gives_the_try_again_page(moto, tmp_path, fault):
    with ENDPOINTS[fault]() as endpoint:
        app = make_test_app(tmp_path, AWS_ENDPOINT_URL=endpoint)
        page, seconds = timed(lambda: app.test_client().post("/login", data={
            "access_key_id": "AKIAABCDEFGHIJKLMNOP", "secret_access_key": "s" * 40}))
    assert_try_again_page(page)
    # These fail fast: no attempt may wait out the read timeout (the silent endpoint below does).
    assert seconds < app.config["AWS_READ_TIMEOUT"]


# Whether AWS could have acted on a request that failed this way: if so, an MFA code sent with it may be spent.
MAY_HAVE_ACTED = {"connection refused": False, "HTTP 500 from a proxy": True, "HTTP 503 ServiceUnavailable": True,
                  "throttled": False, "garbled 200": True, "silent": True}


@pytest.mark.parametrize("fault", MAY_HAVE_ACTED)
def test_the_portal_knows_which_failures_may_have_reached_aws(fault):
    endpoints = {**ENDPOINTS, "silent": silent_server}
    with endpoints[fault]() as endpoint:
        settings = aws.Settings("us-east-1", endpoint, connect_timeout=1, read_timeout=1, max_attempts=1)
        sts = aws.client("sts", aws.Keys("AKIAABCDEFGHIJKLMNOP", "s" * 40), settings)
        with pytest.raises(AwsUnavailable) as failed:
            aws.call(sts, "GetSessionToken", SerialNumber="arn:aws:iam::123456789012:mfa/x", TokenCode="123456")
    assert failed.value.may_have_acted is MAY_HAVE_ACTED[fault]


@pytest.mark.parametrize("fault", ["connection refused", "throttled", "HTTP 503 ServiceUnavailable"])
def test_a_signed_in_person_gets_the_try_again_page_and_then_carries_on(app, client, person, fault):
    person.sign_in(follow=False)  # home not yet shown: its device list is not remembered, so it asks AWS
    with ENDPOINTS[fault]() as endpoint:
        app.config["AWS_ENDPOINT_URL"] = endpoint
        assert_try_again_page(client.get("/"))
        assert_try_again_page(client.post("/enroll/start"))
    app.config["AWS_ENDPOINT_URL"] = None
    person.start_enrollment()
    person.verify()
    assert "Your session credentials" in person.get_credentials().get_data(as_text=True)


def test_worst_case_a_silent_endpoint_mid_request_answers_within_15_seconds(app, person, monkeypatch):
    """Sign-in's first call works, its second meets a socket that accepts and never answers."""
    real_client = aws.client
    with silent_server() as endpoint:

        def iam_goes_silent(service, keys, settings):
            if service == "iam":
                settings = aws.Settings(settings.region, endpoint, settings.connect_timeout, settings.read_timeout,
                                        settings.max_attempts)
            return real_client(service, keys, settings)

        monkeypatch.setattr(aws, "client", iam_goes_silent)
        # The alias only labels the authenticator entry: sign-in gives up on it and goes on.
        signed_in, sign_in_seconds = timed(lambda: person.sign_in(follow=False))
        page, seconds = timed(lambda: person.client.get("/"))
    assert_redirect(signed_in, "/")
    assert sign_in_seconds < PROMISE_SECONDS
    assert_try_again_page(page)
    assert seconds < PROMISE_SECONDS
    print(f"worst case to the 503 page with default settings: {seconds:.1f} s")


class Faults:
    """Make chosen AWS operations fail once: before they reach AWS, or after AWS acted (answer lost)."""

    def __init__(self, monkeypatch):
        self.plan: dict[str, bool] = {}
        self.fired: list[str] = []
        real_call, real_pages = aws.call, aws.pages

        def call(aws_client, operation, **params):
            self._maybe_fail(operation, lambda: real_call(aws_client, operation, **params))
            return real_call(aws_client, operation, **params)

        def pages(aws_client, operation, result_key, **params):
            self._maybe_fail(operation, lambda: list(real_pages(aws_client, operation, result_key, **params)))
            return real_pages(aws_client, operation, result_key, **params)

        monkeypatch.setattr(aws, "call", call)
        monkeypatch.setattr(aws, "pages", pages)

    def fail_once(self, operation: str, answer_lost: bool = False) -> None:
        """Fail the next call of `operation`; with answer_lost, AWS does the work first."""
        self.plan[operation] = answer_lost

    def _maybe_fail(self, operation: str, really_call) -> None:
        """Raise AwsUnavailable if this operation is planned to fail, after really calling it if asked."""
        if operation not in self.plan:
            return
        answer_lost = self.plan.pop(operation)
        if answer_lost:
            really_call()
        self.fired.append(operation)
        raise AwsUnavailable(may_have_acted=answer_lost)


@pytest.fixture
def faults(monkeypatch):
    """The fault injector."""
    return Faults(monkeypatch)


def devices_in_aws(iam, user_name: str) -> tuple[list[str], list[str]]:
    """The user's assigned devices, and every unassigned virtual device left lying around."""
    assigned = [d["SerialNumber"] for d in iam.list_mfa_devices(UserName=user_name)["MFADevices"]]
    unassigned = [d["SerialNumber"] for d in
                  iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"]]
    return assigned, unassigned


def assert_enrolled(person: Person, app, iam) -> None:
    """The person holds credentials, AWS holds exactly one device, and the audit log says it completed."""
    assert_page(person.client.get("/credentials/result"), 200, "Your session credentials")
    assert devices_in_aws(iam, person.user.name) == ([f"arn:aws:iam::123456789012:mfa/{person.user.name}"], [])
    assert audit_actions(app).count("enrollment_completed") == 1


@pytest.mark.parametrize("operation, answer_lost", [
    ("ListMFADevices", False), ("CreateVirtualMFADevice", False), ("CreateVirtualMFADevice", True),
], ids=["listing fails", "create fails before AWS", "create answer lost"])
def test_fault_while_creating_the_device(app, person, iam, faults, operation, answer_lost):
    person.sign_in(follow=False)  # the setup's own device listing is then the first, and may fail
    faults.fail_once(operation, answer_lost)
    assert_try_again_page(person.client.post("/enroll/start"))
    assert faults.fired == [operation]
    person.start_enrollment()
    person.verify()
    person.get_credentials()
    assert_enrolled(person, app, iam)
    assert ("stale_device_replaced" in audit_actions(app)) == answer_lost


@pytest.mark.parametrize("answer_lost", [False, True], ids=["before AWS", "answer lost"])
@pytest.mark.parametrize("wait", [False, True], ids=["same codes", "next codes"])
def test_fault_while_enabling_the_device(app, person, iam, faults, answer_lost, wait):
    person.sign_in()
    person.start_enrollment()
    first, second = code(person.seed, -1), code(person.seed, 0)
    faults.fail_once("EnableMFADevice", answer_lost)
    assert_try_again_page(person.verify(first, second))
    if wait:
        Clock.advance(1)
        first, second = code(person.seed, -1), code(person.seed, 0)
    page = person.verify(first, second)
    assert "Prove it works" in page.get_data(as_text=True)
    Clock.advance(1)
    person.get_credentials(token=code(person.seed, 0))
    assert_enrolled(person, app, iam)


@pytest.mark.parametrize("answer_lost", [False, True], ids=["before AWS", "answer lost"])
def test_fault_while_proving_the_device_works(app, person, iam, faults, answer_lost):
    person.sign_in()
    person.start_enrollment()
    person.verify()
    faults.fail_once("GetSessionToken", answer_lost)
    assert_try_again_page(person.get_credentials())
    retry = person.get_credentials()  # the same code again, at once
    if answer_lost:
        # AWS may have spent that code, so the portal asks for the next one without asking AWS; that one works.
        assert retry.status_code == 400
        assert "That code was already used" in retry.get_data(as_text=True)
        assert "Wait for the next code" in retry.get_data(as_text=True)
        Clock.advance(1)
        person.get_credentials()
    assert_enrolled(person, app, iam)


def test_admin_check_failing_does_not_take_the_credentials_away(moto, tmp_path, make_user, iam, monkeypatch):
    app = make_test_app(tmp_path, ADMIN_GROUPS=["portal-admins"])
    person = Person(app.test_client(), make_user("admin.maybe"))
    faults = Faults(monkeypatch)
    person.sign_in()
    person.start_enrollment()
    person.verify()
    faults.fail_once("ListGroupsForUser")
    page = person.get_credentials()
    assert faults.fired == ["ListGroupsForUser"]
    assert "Your session credentials" in page.get_data(as_text=True)
    assert_enrolled(person, app, iam)


@pytest.mark.parametrize("operation, answer_lost", [
    ("DeactivateMFADevice", False), ("DeactivateMFADevice", True),
    ("DeleteVirtualMFADevice", False), ("DeleteVirtualMFADevice", True),
    ("CreateVirtualMFADevice", False), ("CreateVirtualMFADevice", True),
])
def test_fault_while_replacing_the_device(app, person, iam, faults, operation, answer_lost):
    person.enroll_fully()
    serial = f"arn:aws:iam::123456789012:mfa/{person.user.name}"
    Clock.advance(2)  # past the code enrollment spent
    faults.fail_once(operation, answer_lost)
    page = person.client.post("/device/replace", data={"device": serial, "code": code(person.seed, 0)})
    assert_try_again_page(page)
    # Trying again: whatever state AWS is in, the person ends with one new working device.
    Clock.advance(1)
    person.client.get("/")
    if devices_in_aws(iam, person.user.name)[0]:
        page = person.client.post("/device/replace", data={"device": serial, "code": code(person.seed, 0)},
                                  follow_redirects=True)
        read_seed(person, page)
    else:
        person.start_enrollment()
    person.verify()
    person.get_credentials()
    assert devices_in_aws(iam, person.user.name) == ([serial], [])
    assert_page(person.client.get("/credentials/result"), 200, "Your session credentials")


def test_resync_answer_lost_then_retry(app, person, iam, faults):
    person.enroll_fully()
    serial = f"arn:aws:iam::123456789012:mfa/{person.user.name}"
    Clock.advance(2)  # past the code enrollment spent
    data = {"device": serial, "code1": code(person.seed, 0), "code2": code(person.seed, 1)}
    faults.fail_once("ResyncMFADevice", answer_lost=True)
    assert_try_again_page(person.client.post("/enroll/resync", data=data))
    # AWS may have spent those codes: the portal asks for the next ones instead of sending them again.
    again = person.client.post("/enroll/resync", data=data)
    assert again.status_code == 400 and "That code was already used" in again.get_data(as_text=True)
    Clock.advance(2)
    data = {"device": serial, "code1": code(person.seed, 0), "code2": code(person.seed, 1)}
    page = person.client.post("/enroll/resync", data=data, follow_redirects=True)
    assert "back in sync" in page.get_data(as_text=True)


def test_session_lost_between_create_and_enable(app, person, iam):
    person.sign_in()
    person.start_enrollment()
    person.client.post("/logout")
    person.sign_in()
    person.start_enrollment()  # the abandoned device is replaced silently
    person.verify()
    person.get_credentials()
    assert_enrolled(person, app, iam)
    assert "stale_device_replaced" in audit_actions(app)


def test_enable_answer_lost_and_the_retry_refused_still_finishes(app, person, iam, faults, monkeypatch):
    """Should AWS judge the codes before noticing the device is on, "start over" must not loop."""
    from app.errors import AwsError

    person.sign_in()
    person.start_enrollment()
    faults.fail_once("EnableMFADevice", answer_lost=True)
    assert_try_again_page(person.verify())
    real_call = aws.call

    def refuse_codes(aws_client, operation, **params):
        if operation == "EnableMFADevice":
            raise AwsError("InvalidAuthenticationCode", "Authentication code for device is not valid.", operation)
        return real_call(aws_client, operation, **params)

    monkeypatch.setattr(aws, "call", refuse_codes)
    Clock.advance(2)  # new codes: the same ones would find the device enabled without asking AWS
    refused = person.verify()
    assert refused.status_code == 400 and "did not accept those two codes" in refused.get_data(as_text=True)
    page = person.client.post("/enroll/start", follow_redirects=True)  # "Problems? Start over"
    assert "MFA is set up" in page.get_data(as_text=True)
    assert "Continue the setup" not in page.get_data(as_text=True)
    page = person.get_credentials()
    assert "Enrollment is complete" in page.get_data(as_text=True)
    assert_enrolled(person, app, iam)

"""No AWS action without its audit record: PostgreSQL cut before, during and after each step of the flow."""

from __future__ import annotations

import boto3
import pytest
from moto.iam.responses import IamResponse
from moto.sts.responses import TokenResponse

from app import create_app
from app.extensions import db
from app.models import AuditEvent
from conftest import Person

pytestmark = pytest.mark.services

# The flow's state-changing AWS calls: the emulator's handler, and the action the audit log names it by.
STEPS = {
    "create": (IamResponse, "create_virtual_mfa_device", "device_created"),
    "enable": (IamResponse, "enable_mfa_device", "device_enabled"),
    "token": (TokenResponse, "get_session_token", "credentials_issued"),
}


@pytest.fixture
def pg_app(moto, tmp_path, pg_url, tcp_proxy):
    """The portal with its audit log on PostgreSQL behind a proxy the test can cut."""
    proxy = tcp_proxy(5432)
    app = create_app({"TESTING": True, "PROPAGATE_EXCEPTIONS": False, "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False,
                      "SQLALCHEMY_DATABASE_URI": pg_url.replace("127.0.0.1:5432", proxy.url_host)})
    yield app, proxy
    with app.app_context():
        db.engine.dispose()


def events(app) -> list[tuple[str, str]]:
    """(action, outcome) of every audit row, oldest first."""
    with app.app_context():
        return [(e.action, e.outcome) for e in AuditEvent.query.order_by(AuditEvent.id)]


def enabled_devices(user: str) -> list[str]:
    """What AWS really has: the user's enabled MFA devices."""
    iam = boto3.client("iam", region_name="us-east-1")
    return [d["SerialNumber"] for d in iam.list_mfa_devices(UserName=user)["MFADevices"]]


def virtual_devices() -> list[str]:
    """Every virtual device AWS holds, assigned or not."""
    iam = boto3.client("iam", region_name="us-east-1")
    return [d["SerialNumber"] for d in iam.list_virtual_mfa_devices()["VirtualMFADevices"]]


def assert_refused(page) -> None:
    """The portal's own 503 page: it did not act, and says so."""
    body = page.get_data(as_text=True)
    assert page.status_code == 503, body[:500]
    assert "Nothing was changed" in body


@pytest.mark.parametrize("step", STEPS)
def test_database_down_before_an_aws_action_means_the_portal_does_not_act(pg_app, make_user, step):
    app, proxy = pg_app
    person = Person(app.test_client(), make_user("new.hire"))
    person.sign_in()
    if step != "create":
        person.start_enrollment()
    if step == "token":
        person.verify()
    before = (virtual_devices(), enabled_devices("new.hire"))

    proxy.cut("refuse")
    if step == "create":
        assert_refused(person.client.post("/enroll/start"))
    elif step == "enable":
        assert_refused(person.verify(follow=False))
    else:
        assert_refused(person.get_credentials(follow=False))
    assert (virtual_devices(), enabled_devices("new.hire")) == before  # AWS was never asked

    proxy.heal()
    action = STEPS[step][2]
    assert (action, "attempt") not in events(app)[-1:]  # nothing announced that did not happen


@pytest.mark.parametrize("step", STEPS)
def test_database_lost_during_an_aws_action_keeps_the_outcome_and_lands_it_once(pg_app, make_user, monkeypatch,
                                                                              step):
    app, proxy = pg_app
    handler, name, action = STEPS[step]
    real = getattr(handler, name)

    def cut_then_act(self, *args, **kwargs):
        proxy.cut("refuse")  # the attempt is written; the database goes away while AWS acts
        return real(self, *args, **kwargs)

    monkeypatch.setattr(handler, name, cut_then_act)
    person = Person(app.test_client(), make_user("new.hire"))
    person.sign_in()
    person.start_enrollment()
    if step != "create":
        person.verify()
    if step == "token":
        person.get_credentials()
    proxy.heal()
    monkeypatch.setattr(handler, name, real)
    if step != "token":  # finish the flow with the database back
        if step == "create":
            person.verify()
        person.get_credentials()
    person.client.post("/logout")

    recorded = events(app)
    assert enabled_devices("new.hire") == ["arn:aws:iam::123456789012:mfa/new.hire"]
    for flow_action in ("device_created", "device_enabled", "credentials_issued", "enrollment_completed"):
        assert recorded.count((flow_action, "success")) == 1, (flow_action, recorded)
    for flow_action in ("device_created", "device_enabled", "credentials_issued"):
        assert recorded.count((flow_action, "attempt")) == 1, (flow_action, recorded)
    # Order kept: each outcome after its attempt, the spooled one before anything recorded later.
    assert recorded.index((action, "attempt")) < recorded.index((action, "success"))
    assert recorded[-1] == ("sign_out", "success")
    assert recorded.index(("device_enabled", "success")) < recorded.index(("enrollment_completed", "success"))


def test_sign_in_with_the_database_down_lands_its_record_later(pg_app, make_user):
    app, proxy = pg_app
    person = Person(app.test_client(), make_user("new.hire"))
    proxy.cut("refuse")
    assert "Sign out" in person.sign_in().get_data(as_text=True)  # GetCallerIdentity changes nothing at AWS
    proxy.heal()
    person.client.post("/logout")
    assert events(app) == [("sign_in", "success"), ("sign_out", "success")]

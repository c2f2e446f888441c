"""Drill-down and reset: live devices, a confirmed reset with a reason, and IAM's refusals named."""

from __future__ import annotations

import json

import pytest
from admin_helpers import ADMIN, give_device, with_mfa
from pages import NOT_FOUND, assert_page, assert_redirect

from app import aws
from app.demo import seed
from app.errors import AwsAccessDenied
from app.models import AuditEvent
from app.policy import Call, Principal, check_calls, load_policy
from app.services import admin_keys, admin_reset
from app.services.audit import Actor
from security_helpers import outcomes

pytest_plugins = ["admin_fixtures"]

LOST = "lost.phone"
SERIAL = f"arn:aws:iam::123456789012:mfa/{LOST}"


@pytest.fixture
def admin(lite_app, iam, make_user):
    """An admin with an MFA session, and a user whose phone is lost."""
    make_user(LOST)
    give_device(iam, LOST)
    return with_mfa(lite_app, iam, make_user(ADMIN))


def events(app, action: str) -> list[AuditEvent]:
    """Return the audit events of one action, oldest first."""
    with app.app_context():
        return outcomes().filter_by(action=action).order_by(AuditEvent.id).all()


def test_user_page_lists_live_devices_with_a_confirmed_reset_form(admin):
    """The page shows the device AWS lists now, and a reset form that asks for confirmation."""
    html = admin.client.get(f"/admin/users/{LOST}").get_data(as_text=True)
    assert f'<option value="{SERIAL}">{LOST} (virtual)</option>' in html
    # The portal's own confirmation step (no window.confirm): the submit button sits behind a disclosure.
    assert "data-confirm" not in html and '<details class="confirm-step">' in html
    assert f"Yes, reset the device of {LOST}</button>" in html
    assert 'name="reason"' in html


def test_reset_removes_the_device_and_is_audited(admin, lite_app, iam, aws_calls):
    """Deactivate and delete with the admin's MFA session; the event names the user, device and reason."""
    answer = admin.client.post(f"/admin/users/{LOST}/reset", data={"serial": SERIAL, "reason": "phone lost, T-7"})
    assert answer.status_code == 302 and answer.location == f"/admin/users/{LOST}"
    page = admin.client.get(answer.location).get_data(as_text=True)
    assert "can enroll a new MFA device now (the one removed was" in page
    assert iam.list_mfa_devices(UserName=LOST)["MFADevices"] == []
    remaining = iam.list_virtual_mfa_devices(AssignmentStatus="Any")["VirtualMFADevices"]
    assert SERIAL not in {d["SerialNumber"] for d in remaining}
    assert [(op, mfa) for _s, op, _p, mfa in aws_calls if op in ("DeactivateMFADevice", "DeleteVirtualMFADevice")] \
        == [("DeactivateMFADevice", True), ("DeleteVirtualMFADevice", True)]
    [event] = events(lite_app, "admin_reset")
    assert (event.outcome, event.subject) == ("success", LOST)
    assert event.actor_arn == "arn:aws:iam::123456789012:user/admin"
    assert json.loads(event.detail) == {"device": SERIAL, "reason": "phone lost, T-7"}


@pytest.mark.parametrize("reason", ["", "  ", "x"])
def test_reset_without_a_reason_is_refused(admin, lite_app, iam, reason):
    """No reason, no reset: the form comes back with the problem named and the device stays."""
    answer = admin.client.post(f"/admin/users/{LOST}/reset", data={"serial": SERIAL, "reason": reason})
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert "Say why the device is being reset" in html or "between 3 and 500 characters" in html
    assert len(iam.list_mfa_devices(UserName=LOST)["MFADevices"]) == 1
    assert events(lite_app, "admin_reset") == []


def test_reset_refuses_a_device_the_user_does_not_have(admin, iam, make_user):
    """The serial must be one AWS lists for this user now: another user's device is not offered."""
    make_user("bystander")
    give_device(iam, "bystander")
    other = "arn:aws:iam::123456789012:mfa/bystander"
    answer = admin.client.post(f"/admin/users/{LOST}/reset", data={"serial": other, "reason": "typo"})
    assert answer.status_code == 400 and "Not a valid choice" in answer.get_data(as_text=True)
    assert len(iam.list_mfa_devices(UserName="bystander")["MFADevices"]) == 1


def test_hardware_device_is_deactivated_only(admin, iam, make_user):
    """A hardware token is deactivated (there is no virtual device to delete)."""
    make_user("token.user")
    seed.backend().enable_mfa_device("token.user", "GAHT12345678", "123456", "654321")
    html = admin.client.get("/admin/users/token.user").get_data(as_text=True)
    assert "GAHT12345678 (hardware)" in html
    answer = admin.client.post("/admin/users/token.user/reset", data={"serial": "GAHT12345678", "reason": "broken"})
    assert_redirect(answer, "/admin/users/token.user")
    assert iam.list_mfa_devices(UserName="token.user")["MFADevices"] == []


def deny(monkeypatch, operation: str) -> None:
    """Make IAM refuse one operation, single or paginated, as it refuses a missing permission."""
    real_call, real_pages = aws.call, aws.pages

    def call(client, name, **params):
        if name == operation:
            raise AwsAccessDenied(f"iam:{operation}")
        return real_call(client, name, **params)

    def pages(client, name, key, **params):
        if name == operation:
            raise AwsAccessDenied(f"iam:{operation}")
        return real_pages(client, name, key, **params)

    monkeypatch.setattr(aws, "call", call)
    monkeypatch.setattr(aws, "pages", pages)


def test_denied_reset_names_the_missing_action(admin, lite_app, iam, monkeypatch):
    """When IAM refuses, the admin sees which action to ask for, with 403; the attempt is audited."""
    deny(monkeypatch, "DeactivateMFADevice")
    answer = admin.client.post(f"/admin/users/{LOST}/reset", data={"serial": SERIAL, "reason": "lost"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 403
    assert "iam:DeactivateMFADevice" in html and "AWS denied this action" in html
    assert len(iam.list_mfa_devices(UserName=LOST)["MFADevices"]) == 1
    [event] = events(lite_app, "admin_reset")
    assert (event.outcome, event.subject) == ("denied", LOST)
    assert json.loads(event.detail)["error"] == "iam:DeactivateMFADevice"


@pytest.mark.parametrize("operation", ["GenerateCredentialReport", "ListVirtualMFADevices", "ListEntitiesForPolicy"])
def test_denied_refresh_names_the_missing_action(admin, lite_app, monkeypatch, operation):
    """A refresh IAM refuses shows the missing action with 403, stores nothing, and is audited."""
    deny(monkeypatch, operation)
    answer = admin.client.post("/admin/refresh")
    assert answer.status_code == 403 and f"iam:{operation}" in answer.get_data(as_text=True)
    [event] = events(lite_app, "admin_refresh")
    assert event.outcome == "denied" and operation in event.detail


def test_denied_drill_down_names_the_missing_action(admin, monkeypatch):
    """Without iam:ListMFADevices on other users, the user page says so."""
    deny(monkeypatch, "ListMFADevices")
    answer = admin.client.get(f"/admin/users/{LOST}")
    assert answer.status_code == 403 and "iam:ListMFADevices" in answer.get_data(as_text=True)


def test_unknown_user_is_a_plain_404(admin):
    """A user deleted since the last refresh gets a page that says so; a malformed name never reaches AWS."""
    answer = admin.client.get("/admin/users/gone.user")
    assert answer.status_code == 404 and "There is no IAM user named gone.user" in answer.get_data(as_text=True)
    assert_page(admin.client.get("/admin/users/bad%20name!"), 404, NOT_FOUND)


def test_admin_calls_fit_the_shipped_admin_policy(admin, aws_calls):
    """Refresh, drill-down and reset make only calls the shipped admin policy allows, and only with MFA."""
    aws_calls.clear()
    admin.client.post("/admin/refresh")
    admin.client.get(f"/admin/users/{LOST}")
    admin.client.post(f"/admin/users/{LOST}/reset", data={"serial": SERIAL, "reason": "lost"})
    made = [(service, operation, params) for service, operation, params, _mfa in aws_calls]
    assert {"GenerateCredentialReport", "GetCredentialReport", "ListUsers", "ListVirtualMFADevices",
            "ListEntitiesForPolicy", "GetGroup", "ListMFADevices", "DeactivateMFADevice",
            "DeleteVirtualMFADevice"} <= {operation for _s, operation, _p in made}
    assert all(with_mfa for *_rest, with_mfa in aws_calls)
    calls = [Call(*call) for call in made]
    who = Principal("aws", "123456789012", ADMIN, mfa_present=True)
    assert check_calls(load_policy("admin"), calls, who) == []
    # Admins are usually under the force-MFA policy too: with MFA it must not deny them anything.
    assert [p for p in check_calls(load_policy("force-mfa"), calls, who) if "explicit deny" in p] == []


def test_the_reset_service_records_the_attempt_then_raises_iams_refusal(lite_app, iam, make_user):
    """From plain values (no request): IAM refuses a non-admin; the log says so and the device stays."""
    make_user(LOST)
    give_device(iam, LOST)
    keys = make_user("not.an.admin")
    portal_iam = aws.client("iam", aws.Keys(keys.access_key_id, keys.secret_access_key), aws.Settings())
    actor = Actor(arn="arn:aws:iam::123456789012:user/not.an.admin", user_name="not.an.admin")
    with lite_app.app_context():
        with pytest.raises(AwsAccessDenied):
            admin_reset.reset_device(portal_iam, actor, LOST, SERIAL, "phone lost on a train")
        rows = AuditEvent.query.filter_by(action="admin_reset").order_by(AuditEvent.id).all()
    assert [(row.outcome, row.subject) for row in rows] == [("attempt", LOST), ("denied", LOST)]
    assert json.loads(rows[0].detail) == {"device": SERIAL, "reason": "phone lost on a train"}
    assert [d["SerialNumber"] for d in iam.list_mfa_devices(UserName=LOST)["MFADevices"]] == [SERIAL]


def test_the_key_service_says_an_inactive_key_is_already_inactive(lite_app, iam, make_user):
    user = make_user(LOST)
    iam.update_access_key(UserName=LOST, AccessKeyId=user.access_key_id, Status="Inactive")
    portal_iam = aws.client("iam", aws.Keys(user.access_key_id, user.secret_access_key), aws.Settings())
    with lite_app.test_request_context(), pytest.raises(admin_keys.AlreadyInactive, match="already inactive"):
        admin_keys.active_key(portal_iam, LOST, user.access_key_id)

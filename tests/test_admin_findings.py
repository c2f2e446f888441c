"""Findings on an arranged account: every count, filter, CSV column, user page, history and key deactivation."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from admin_helpers import ADMIN, give_device, refresh, table_users, with_mfa
from moto.iam.models import AccessKeyLastUsed
from own_helpers import fail_call
from pages import AWS_AWAY, assert_page

from app.demo import seed
from app.errors import AwsAccessDenied, AwsUnavailable
from app.extensions import db
from app.models import AuditEvent, ReportSnapshot
from app.services import findings, snapshots

pytest_plugins = ["admin_fixtures"]

IAM_3, IAM_5, IAM_8, IAM_19, IAM_22 = "IAM.3", "IAM.5", "IAM.8", "IAM.19", "IAM.22"
TWO, SETUP, LOOSE = "CIS.two-active-keys", "CIS.key-at-setup", "policy.not-covered"

# name: (keys as (created days ago, last used days ago or None, active), password (set, used) or None, MFA,
#        in the force-MFA group, the findings expected). Every date is a whole number of days plus an hour ago.
PEOPLE = {
    "key.89": ([(89, 1, True)], None, True, True, set()),
    "key.90": ([(90, 1, True)], None, True, True, set()),
    "key.91": ([(91, 1, True)], None, True, True, {IAM_3}),
    "unused.44": ([(60, 44, True)], None, True, True, set()),
    "unused.45": ([(60, 45, True)], None, True, True, {IAM_22}),
    "unused.46": ([(60, 46, True)], None, True, True, {IAM_22}),
    "stale.89": ([(89, 89, True)], None, True, True, {IAM_22}),
    "stale.90": ([(90, 90, True)], None, True, True, {IAM_22, IAM_8}),
    "stale.91": ([(91, 91, True)], None, True, True, {IAM_3, IAM_22, IAM_8}),
    "never.key.44": ([(44, None, True)], None, True, True, set()),
    "never.key.45": ([(45, None, True)], None, True, True, {IAM_22}),
    "old.inactive": ([(200, None, False)], None, True, True, set()),
    "pw.never.44": ([], (44, None), True, True, set()),
    "pw.never.46": ([], (46, None), True, True, {IAM_22}),
    "pw.used.90": ([], (200, 90), True, True, {IAM_22, IAM_8}),
    "pw.no.mfa": ([], (10, 1), False, True, {IAM_5, IAM_19}),
    "key.no.mfa": ([(10, 1, True)], None, False, True, {IAM_19}),
    "two.keys": ([(10, 1, True), (5, 1, True)], None, True, True, {TWO}),
    "setup.key": ([(10, None, True)], (10, 1), True, True, {SETUP}),
    "loose": ([(10, 1, True)], None, True, False, {LOOSE}),
}


def ago(now: datetime, days: int) -> datetime:
    """A time `days` whole days and an hour before `now`, naive as moto keeps it."""
    return (now - timedelta(days=days, hours=1)).replace(tzinfo=None)


def arrange_people(iam) -> None:
    """Create PEOPLE through the API, then backdate keys, passwords and users in the emulator's objects."""
    now = datetime.now(UTC)
    backend = seed.backend()
    for name, (keys, password, mfa, grouped, _expected) in PEOPLE.items():
        iam.create_user(UserName=name)
        if grouped:
            iam.add_user_to_group(GroupName="mfa-required", UserName=name)
        for _ in keys:
            iam.create_access_key(UserName=name)
        if password:
            iam.create_login_profile(UserName=name, Password="Arranged-Passw0rd!")
        if mfa:
            give_device(iam, name)
        user = backend.users[name]
        oldest = max([made for made, _u, _a in keys] + ([password[0]] if password else []) + [1])
        # moto reports the user's creation as password_last_changed: the password was set when the user was made.
        user.create_date = ago(now, oldest if not password else password[0])
        for key, (made, used, active) in zip(user.access_keys, keys, strict=True):
            key.create_date = ago(now, made)
            key.status = "Active" if active else "Inactive"
            if used is not None:
                key.last_used = AccessKeyLastUsed(timestamp=ago(now, used), service="s3", region="us-east-1")
        if password and password[1] is not None:
            user.password_last_used = ago(now, password[1])


def expected() -> dict[str, set[str]]:
    """Who has which finding; the admin (enrolled, fresh key used to sign in) has none."""
    return {name: spec[4] for name, spec in PEOPLE.items()} | {ADMIN: set()}


@pytest.fixture
def judged(admin_app, iam, make_user):
    """The arranged people and an admin who has refreshed once."""
    arrange_people(iam)
    admin = with_mfa(admin_app, iam, make_user(ADMIN))
    assert_page(refresh(admin), 200, "Refreshed: 21 users read")
    return admin


def users_having(control: str) -> list[str]:
    """The expected users of one control, in the table's order."""
    return sorted(name for name, found in expected().items() if control in found)


def panel_counts(html: str) -> dict[str, int]:
    """Read the findings panel: control id -> count shown."""
    found = re.findall(r'data-control="([^"]+)"[^>]*>\s*<span class="finding-count[^"]*">(\d+)</span>', html)
    return {control: int(count) for control, count in found}


def test_every_count_and_every_filter(judged, admin_app):
    """The panel's counts, the stored totals and each finding's link list exactly the arranged users."""
    html = judged.client.get("/admin/").get_data(as_text=True)
    want = {control: len(users_having(control)) for control in findings.CONTROLS}
    assert panel_counts(html) == want
    assert "Thresholds in force: access keys older than 90 days, credentials unused for 45 days (IAM.22) and " \
           "90 days (IAM.8)." in html
    with admin_app.app_context():
        snap = snapshots.latest()
        assert json.loads(snap.findings) == want
        assert json.loads(snap.thresholds) == {"key_age": 90, "unused": 45, "stale": 90}
        for control in findings.CONTROLS:
            assert [r.user_name for r in db.session.scalars(findings.users_with(snap.id, control))] == \
                users_having(control)
    for control in findings.CONTROLS:
        link = re.search(rf'href="([^"]+)" data-control="{re.escape(control)}"', html).group(1)
        page = judged.client.get(link.replace("&amp;", "&")).get_data(as_text=True)
        assert table_users(page) == users_having(control), control
        assert f"<li>Finding: {control} (" in page


def test_filters_combine_with_search_sort_and_show(judged):
    """A finding narrows whatever else is chosen; the other choices keep working inside it."""
    client = judged.client

    def names(query: str) -> list[str]:
        return table_users(client.get(f"/admin/?{query}").get_data(as_text=True))

    assert names("finding=IAM.22&q=stale") == ["stale.89", "stale.90", "stale.91"]
    assert names("finding=IAM.22&sort=name&order=desc")[:2] == ["unused.46", "unused.45"]
    assert names("finding=IAM.19&show=not_enrolled") == ["key.no.mfa", "pw.no.mfa"]
    assert names("finding=IAM.3&show=not_covered") == []
    assert names("finding=IAM.8&page=7") == ["pw.used.90", "stale.90", "stale.91"]  # past the end: last page
    bad = client.get("/admin/?finding=IAM.99")
    assert bad.status_code == 400 and len(table_users(bad.get_data(as_text=True))) == len(expected())


def read_csv(answer) -> list[dict[str, str]]:
    """Parse a CSV download."""
    assert answer.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))


def test_export_carries_a_column_per_finding_and_its_filter(judged, admin_app):
    """Every user's finding columns match the arrangement; a filtered export holds exactly its users."""
    rows = read_csv(judged.client.post("/admin/export", data={"show": "all", "sort": "name", "order": "asc"}))
    assert [r["user"] for r in rows] == sorted(expected())
    for r in rows:
        have = {control for control in findings.CONTROLS if r[f"finding {control}"] == "yes"}
        assert have == expected()[r["user"]], r["user"]
        assert {r[f"finding {c}"] for c in findings.CONTROLS} <= {"yes", "no"} and r["filter"] == "all"
    answer = judged.client.post("/admin/export", data={"show": "all", "sort": "name", "order": "asc",
                                                       "finding": "IAM.22", "q": "un"})
    assert 'filename="mfa-enrollment-IAM.22-' in answer.headers["Content-Disposition"]
    narrowed = read_csv(answer)
    assert [r["user"] for r in narrowed] == ["unused.45", "unused.46"]
    assert {r["filter"] for r in narrowed} == {"q=un&finding=IAM.22"}
    with admin_app.app_context():
        event = AuditEvent.query.filter_by(action="admin_export").order_by(AuditEvent.id.desc()).first()
        assert '"finding": "IAM.22"' in event.detail


def test_user_page_lists_findings_with_their_dates(judged):
    """Each finding of a user is listed with the dates that caused it; a clean user says so."""
    now = datetime.now(UTC)
    # Dates are shown with no-break spaces (a phone never splits them): read them as plain spaces here.
    page = judged.client.get("/admin/users/stale.91").get_data(as_text=True).replace("\u00a0", " ")
    made = f"{ago(now, 91):%b} {ago(now, 91).day}, {ago(now, 91).year}"
    blocks = re.findall(r'<div class="finding-block" data-control="([^"]+)">', page)
    assert blocks == [IAM_3, IAM_8, IAM_22]
    assert f"Access key 1 (active) was created on {made}." in page
    assert f"Access key 1 (active) was last used on {made}." in page
    setup = judged.client.get("/admin/users/pw.never.46").get_data(as_text=True).replace("\u00a0", " ")
    set_on = ago(now, 46)
    assert f"The console password was never used; it was set on {set_on:%b} {set_on.day}, {set_on.year}." in setup
    assert "No findings: every control passed at the last refresh." in judged.client.get(
        "/admin/users/key.90").get_data(as_text=True)


def test_admin_deactivates_a_key_once_with_a_reason(judged, admin_app, iam):
    """Confirmation page with age and last use; a reason is required; audited; a repeat changes nothing."""
    key_id = iam.list_access_keys(UserName="stale.91")["AccessKeyMetadata"][0]["AccessKeyId"]
    user_page = judged.client.get("/admin/users/stale.91").get_data(as_text=True)
    url = f"/admin/users/stale.91/keys/{key_id}/deactivate"
    assert f'href="{url}"' in user_page
    confirm = judged.client.get(url)
    text = confirm.get_data(as_text=True).replace("\u00a0", " ")  # dates keep no-break spaces on the page
    assert confirm.status_code == 200 and "91 days" in text and key_id in text
    last = ago(datetime.now(UTC), 91)
    assert f"{last:%b} {last.day}, {last.year}" in re.search(r'id="key-last-used">([^<]+)<', text).group(1)
    refused = judged.client.post(url, data={"reason": " "})
    assert refused.status_code == 400 and "Say why the key is being deactivated" in refused.get_data(as_text=True)
    assert iam.list_access_keys(UserName="stale.91")["AccessKeyMetadata"][0]["Status"] == "Active"
    done = judged.client.post(url, data={"reason": "unused 91 days, ticket SEC-7"}, follow_redirects=True)
    assert "is now inactive" in done.get_data(as_text=True)
    assert iam.list_access_keys(UserName="stale.91")["AccessKeyMetadata"][0]["Status"] == "Inactive"
    again = judged.client.post(url, data={"reason": "double click"}, follow_redirects=True)
    assert "is already inactive; nothing was changed" in again.get_data(as_text=True)
    assert iam.list_access_keys(UserName="stale.91")["AccessKeyMetadata"][0]["Status"] == "Inactive"
    assert "already inactive" in judged.client.get(url, follow_redirects=True).get_data(as_text=True)
    with admin_app.app_context():
        events = AuditEvent.query.filter_by(action="admin_key_deactivated").order_by(AuditEvent.id).all()
        assert [(e.outcome, e.subject) for e in events] == [("attempt", "stale.91"), ("success", "stale.91")]
        assert events[1].attempt_key == events[0].event_key
        detail = json.loads(events[1].detail)
        assert detail == {"key_id": key_id, "reason": "unused 91 days, ticket SEC-7", "status": "Inactive"}
    assert_page(refresh(judged), 200, "Refreshed: 21 users read")
    assert "stale.91" not in table_users(judged.client.get("/admin/?finding=IAM.3").get_data(as_text=True))
    assert_page(judged.client.get("/admin/users/stale.91/keys/AKIANOSUCHKEY0000000/deactivate"), 404,
                "No such access key")


def test_history_keeps_totals_for_the_retention_and_draws_them(judged, admin_app):
    """Older snapshots keep their totals for the chart and table; beyond SNAPSHOT_RETENTION_DAYS they go."""
    now = datetime.now(UTC)
    with admin_app.app_context():
        for days, users, enrolled, iam3 in ((401, 9, 1, 9), (399, 10, 2, 7), (3, 20, 10, 4)):
            db.session.add(ReportSnapshot(taken_at=now - timedelta(days=days), users=users, enrolled=enrolled,
                                          findings=json.dumps({IAM_3: iam3})))
        db.session.commit()
    assert_page(refresh(judged), 200, "Refreshed: 21 users read")
    with admin_app.app_context():
        ages = sorted(round((now - s.taken_at.replace(tzinfo=UTC)).total_seconds() / 86400)
                      for s in ReportSnapshot.query)
        assert ages == [0, 0, 3, 399]  # the 401-day-old one is purged; both of today's stay
    html = judged.client.get("/admin/history").get_data(as_text=True)
    rows = re.findall(r"<tr><th scope=\"row\"[^>]*>([^<]+)</th><td>([\d,]+)</td><td>(\d+%)</td>\s*"
                      r"<td>([^<]+)</td>", html)
    assert [(users, share, iam3) for _day, users, share, iam3 in rows] == [
        (str(len(expected())), f"{round(100 * 19 / 21)}%", "2"), ("20", "50%", "4"), ("10", "20%", "7")]
    # A line where a series has two known days (enrolled share, IAM.3); the older rows predate the other controls.
    assert html.count('<polyline class="spark-line') == 2
    assert html.count('<circle class="spark-dot bad"') == 3 + (len(findings.CONTROLS) - 1)
    assert '<figure data-series="IAM.3">' in html and "style=" not in html.split("<main")[1]


def test_thresholds_follow_the_settings(admin_app, iam, make_user):
    """FINDINGS_* settings change what the refresh judges and what the panel says."""
    admin_app.config |= {"FINDINGS_KEY_AGE_DAYS": 60, "FINDINGS_UNUSED_DAYS": 30, "FINDINGS_STALE_DAYS": 60}
    arrange_people(iam)
    admin = with_mfa(admin_app, iam, make_user(ADMIN))
    refresh(admin)
    html = admin.client.get("/admin/").get_data(as_text=True)
    assert "access keys older than 60 days, credentials unused for 30 days (IAM.22) and 60 days (IAM.8)" in html
    assert table_users(admin.client.get("/admin/?finding=IAM.3").get_data(as_text=True)) == [
        "key.89", "key.90", "key.91", "stale.89", "stale.90", "stale.91"]


def test_a_refused_or_lost_deactivation_is_audited(lite_app, iam, make_user, monkeypatch):
    """IAM refusing UpdateAccessKey: a denied outcome, the key still active. A lost answer: unknown, then the
    repeat finds the key inactive and says so (the request names the target state, so nothing flips back)."""
    target = make_user("target.user")
    admin = with_mfa(lite_app, iam, make_user(ADMIN))
    url = f"/admin/users/target.user/keys/{target.access_key_id}/deactivate"
    with monkeypatch.context() as patched:
        fail_call(patched, "UpdateAccessKey", AwsAccessDenied("iam:UpdateAccessKey"))
        answer = admin.client.post(url, data={"reason": "leaked in a ticket"})
    assert answer.status_code == 403 and "iam:UpdateAccessKey" in answer.get_data(as_text=True)
    assert iam.list_access_keys(UserName="target.user")["AccessKeyMetadata"][0]["Status"] == "Active"
    with monkeypatch.context() as patched:
        fail_call(patched, "UpdateAccessKey", AwsUnavailable(), after=True)
        assert_page(admin.client.post(url, data={"reason": "leaked in a ticket"}), 503, AWS_AWAY)
    assert iam.list_access_keys(UserName="target.user")["AccessKeyMetadata"][0]["Status"] == "Inactive"
    again = admin.client.post(url, data={"reason": "leaked in a ticket"}, follow_redirects=True)
    assert "is already inactive; nothing was changed" in again.get_data(as_text=True)
    assert iam.list_access_keys(UserName="target.user")["AccessKeyMetadata"][0]["Status"] == "Inactive"
    with lite_app.app_context():
        events = AuditEvent.query.filter_by(action="admin_key_deactivated").order_by(AuditEvent.id).all()
        assert [e.outcome for e in events] == ["attempt", "denied", "attempt", "unknown"]


def test_a_snapshot_from_before_findings_says_so(lite_app, iam, make_user):
    """A snapshot stored before this version has no findings: the panel asks for a refresh, the history a dash."""
    admin = with_mfa(lite_app, iam, make_user(ADMIN))
    with lite_app.app_context():
        db.session.add(ReportSnapshot(taken_at=datetime.now(UTC), users=3, enrolled=1))
        db.session.commit()
    html = admin.client.get("/admin/").get_data(as_text=True)
    assert "This snapshot was taken before the portal judged findings; refresh to see them." in html
    assert 'data-control="IAM.3"' not in html
    history = admin.client.get("/admin/history").get_data(as_text=True)
    assert re.search(r"<td>3</td><td>33%</td>\s*<td>—</td>", history)


def test_an_admin_cannot_deactivate_the_key_their_session_signs_with(lite_app, iam, make_user):
    """Their own page says which key is theirs and offers no button; a forged request is refused unaudited."""
    admin = with_mfa(lite_app, iam, make_user(ADMIN))
    page = admin.client.get(f"/admin/users/{ADMIN}").get_data(as_text=True)
    assert "the key you signed in with" in page and "/deactivate" not in page
    answer = admin.client.post(f"/admin/users/{ADMIN}/keys/{admin.user.access_key_id}/deactivate",
                               data={"reason": "testing"})
    assert answer.status_code == 409 and "Rotate it on your own access keys page" in answer.get_data(as_text=True)
    assert iam.list_access_keys(UserName=ADMIN)["AccessKeyMetadata"][0]["Status"] == "Active"
    with lite_app.app_context():
        assert AuditEvent.query.filter_by(action="admin_key_deactivated").count() == 0

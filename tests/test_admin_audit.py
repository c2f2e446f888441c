"""The audit log for admins: filters, CSV, first enrollments highlighted, and never a secret stored."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from admin_helpers import ADMIN, enrolled, refresh
from pages import assert_page, assert_redirect
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from security_helpers import outcomes

pytest_plugins = ["admin_fixtures"]

TODAY = datetime.now(UTC).date()  # only for queries that are invalid on any day


def event_days(person) -> tuple:
    """The first and last UTC dates of the recorded events (a run may cross midnight)."""
    with person.client.application.app_context():
        first, last = db.session.execute(select(db.func.min(AuditEvent.at), db.func.max(AuditEvent.at))).one()
    return first.date(), last.date()


def audit_rows(html: str) -> list[tuple[str, str, str]]:
    """Return (action, outcome, user) for each row of the audit table."""
    body = html.split('<table class="table audit">', 1)[1]
    # The stored identifiers ride along in data attributes; the cells show them in words.
    return re.findall(r'<td data-action="(\w+)">[^<]+(?: <span[^>]*>first enrollment</span>)?</td>\s*'
                      r'<td><span class="pill[^"]*" data-outcome="(\w+)">[^<]+</span></td>\s*'
                      r'<td>(?:<a href="[^"]+">)?([^<]+)', body)


def read_csv(answer) -> list[dict[str, str]]:
    """Parse a CSV download."""
    assert answer.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))


@pytest.fixture
def history(lite_account):
    """The arranged account plus a rejected code: successes, a failure, a first enrollment."""
    lite_account.admin.get_credentials(token="000000")
    return lite_account.admin


def test_first_enrollments_are_highlighted(history):
    """Whoever enrolls first holds the device: each first enrollment stands out, with time and address."""
    html = history.client.get("/admin/audit").get_data(as_text=True)
    assert "1 first enrollment in the last 30 days" in html
    highlighted = re.findall(r'<tr class="highlight">\s*<td class="nowrap">[^<]+</td>\s*<td data-action="(\w+)">'
                             r'[^<]+ <span class="pill warn">first enrollment</span></td>.*?<td>([\d.]+)</td>',
                             html, re.S)
    assert highlighted == [("device_enabled", "127.0.0.1")]


@pytest.mark.parametrize(("query", "expected"), [
    ("user=enrolled.user", {("sign_in", "success", "enrolled.user"), ("device_created", "success", "enrolled.user"),
                            ("device_enabled", "success", "enrolled.user"),
                            ("credentials_issued", "success", "enrolled.user"),
                            ("enrollment_completed", "success", "enrolled.user")}),
    ("action=device_enabled", {("device_enabled", "success", "enrolled.user")}),
    ("outcome=failure", {("credentials_issued", "failure", ADMIN)}),
    ("user=admin&action=credentials_issued&outcome=success", {("credentials_issued", "success", ADMIN)}),
    ("since={after_last}", set()),
    ("until={before_first}", set()),
])
def test_audit_filters(history, query, expected):
    """User, action, outcome and date range narrow the log; the CSV export lists the same events."""
    first, last = event_days(history)
    query = query.format(after_last=last + timedelta(days=1), before_first=first - timedelta(days=1))
    html = history.client.get(f"/admin/audit?{query}").get_data(as_text=True)
    shown = audit_rows(html)
    assert set(shown) == expected and len(shown) == len(expected)
    form = dict(pair.split("=") for pair in query.split("&"))
    exported = read_csv(history.client.post("/admin/audit/export", data=form))
    assert [(r["action"], r["outcome"], r["subject"]) for r in exported] == shown


def test_date_range_covers_whole_days(history):
    """From and to are inclusive dates in UTC: the events' first day to their last day is everything."""
    first, last = event_days(history)
    everything = audit_rows(history.client.get("/admin/audit").get_data(as_text=True))
    today = audit_rows(history.client.get(f"/admin/audit?since={first}&until={last}").get_data(as_text=True))
    assert today == everything and len(today) == 8


@pytest.mark.parametrize("query", [f"since={TODAY}&until={TODAY - timedelta(days=2)}", "action=nonsense",
                                   "since=yesterday", "user=not a name", "page=-1"])
def test_invalid_audit_filters_are_refused(history, query):
    """A bad filter is named and the whole log shown, with 400."""
    page = history.client.get(f"/admin/audit?{query}")
    assert page.status_code == 400 and "Some filter values were not valid" in page.get_data(as_text=True)


def test_audit_export_is_audited(history, lite_app):
    """Exporting the log leaves its own trace, with the filter and the row count; formulas are neutralised."""
    rows = read_csv(history.client.post("/admin/audit/export", data={"action": "sign_in"}))
    assert {r["action"] for r in rows} == {"sign_in"} and len(rows) == 2
    assert all(r["at"].endswith("Z") for r in rows)
    with lite_app.app_context():
        event = outcomes().filter_by(action="admin_audit_export").one()
        assert event.subject == ADMIN and '"rows": 2' in event.detail and '"action": "sign_in"' in event.detail


def collect_secrets(person, page_html: str) -> list[str]:
    """Return everything secret this person handled: long-term secret key, TOTP seed, session credentials."""
    found = re.findall(r"aws_(?:secret_access_key|session_token) = (\S+)", page_html)
    assert len(found) == 2, page_html[:3000]
    return [person.user.secret_access_key, person.seed, *found]


def test_every_step_is_audited_and_no_secret_is_stored(admin_app, iam, make_user):
    """Walk enrollment and every admin action; the log has each step and no column anywhere holds a secret."""
    hire = make_user("new.hire")
    admin = enrolled(admin_app, make_user(ADMIN))
    secrets = collect_secrets(admin, admin.client.get("/credentials/result").get_data(as_text=True))
    newcomer = enrolled(admin_app, hire)
    secrets += collect_secrets(newcomer, newcomer.client.get("/credentials/result").get_data(as_text=True))

    assert_page(refresh(admin), 200, "Refreshed: 2 users read")
    exported = read_csv(admin.client.post("/admin/export", data={"show": "all", "sort": "name", "order": "asc"}))
    assert sorted(row["user"] for row in exported) == [ADMIN, "new.hire"]
    answer = admin.client.post("/admin/users/new.hire/reset", data={
        "serial": "arn:aws:iam::123456789012:mfa/new.hire", "reason": "lost phone"})
    assert_redirect(answer, "/admin/users/new.hire")
    audit_rows = read_csv(admin.client.post("/admin/audit/export", data={}))
    assert "enrollment_completed" in [row["action"] for row in audit_rows]

    with admin_app.app_context():
        steps = [(e.action, e.subject, e.outcome) for e in outcomes().order_by(AuditEvent.id)]
        flow = ["sign_in", "device_created", "device_enabled", "credentials_issued", "enrollment_completed"]
        assert steps == ([(a, ADMIN, "success") for a in flow] + [(a, "new.hire", "success") for a in flow]
                         + [("admin_refresh", ADMIN, "success"), ("admin_export", ADMIN, "success"),
                            ("admin_reset", "new.hire", "success"), ("admin_audit_export", ADMIN, "success")])
        stored = [str(value) for table in db.metadata.sorted_tables
                  for row in db.session.execute(select(table)) for value in row if value is not None]
    assert len(stored) > 100
    assert len(secrets) == 8 and all(len(s) >= 16 for s in secrets)
    leaks = [s[:6] for s in secrets if any(s in value for value in stored)]
    assert leaks == []


def test_every_action_and_outcome_has_words_and_japanese_admins_read_them(history):
    from app.admin.labels import ACTIONS, OUTCOMES
    from app.services.audit import Action, Outcome

    assert set(ACTIONS) == set(Action) and set(OUTCOMES) == set(Outcome)
    english = history.client.get("/admin/audit").get_data(as_text=True)
    assert ">Session credentials issued<" in english and '" data-outcome="failure">failure<' in english
    japanese = history.client.get("/admin/audit", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert ">セッション認証情報を発行<" in japanese and ">失敗<" in japanese
    assert '<option value="credentials_issued">セッション認証情報を発行</option>' in japanese

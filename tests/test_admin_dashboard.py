"""The enrollment dashboard: counts, coverage, filters, sorting, paging and CSV, all from a stored snapshot."""

from __future__ import annotations

import csv
import io
import math
import re

import pytest
from admin_helpers import ADMIN, refresh, table_users, with_mfa
from moto.iam.exceptions import IAMException
from moto.iam.responses import IamResponse
from pages import assert_page, assert_redirect

from app.demo import seed
from app.models import ReportFinding, ReportSnapshot, ReportUser
from app.services import listings, reporting, snapshots
from conftest import make_test_app
from security_helpers import outcomes

pytest_plugins = ["admin_fixtures"]


def rows_by_name(app) -> dict[str, ReportUser]:
    """Return the latest snapshot's rows by user name."""
    with app.app_context():
        latest = snapshots.latest()
        return {r.user_name: r for r in ReportUser.query.filter_by(snapshot_id=latest.id)}


def test_counts_and_coverage_on_a_small_account(account, admin_app):
    """Each arranged state lands in the right counter and row, on SQLite and PostgreSQL."""
    page = refresh(account.admin)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Refreshed: 6 users" in html
    with admin_app.app_context():
        snap = snapshots.latest()
        totals = (snap.users, snap.enrolled, snap.abandoned, snap.not_covered, snap.other_mfa)
        assert totals == (6, 2, 1, 1, 0)
        assert snap.policy_found and snap.policy_arn == account.policy_arn
    rows = rows_by_name(admin_app)
    assert {name: r.covered_by for name, r in rows.items()} == {
        "admin": "group:mfa-required", "direct.user": "direct", "enrolled.user": "group:mfa-required",
        "group.user": "group:mfa-required", "loose.user": "none", "stale.device": "group:mfa-required"}
    assert {name for name, r in rows.items() if r.mfa_status == "virtual"} == {"admin", "enrolled.user"}
    assert [name for name, r in rows.items() if r.abandoned] == ["stale.device"]
    assert rows["enrolled.user"].device_names == "enrolled.user" and rows["enrolled.user"].enabled_at
    assert rows["enrolled.user"].key_last_used is not None  # the portal used the key to sign in
    assert rows["loose.user"].password_enabled is False and rows["loose.user"].key_last_used is None
    # The summary reads as numbers a person can act on, each a link to the matching filter.
    assert '<span class="value">6</span><span class="label">IAM users</span>' in html
    assert '<span class="value">2</span><span class="label">enrolled (33%)' in html
    assert 'href="/admin/?show=not_covered"><span class="value">1</span>' in html
    assert 'width="33.33"' in html  # the progress bar, drawn as SVG attributes


def test_filters_select_the_arranged_users(account):
    """Each filter shows exactly the users in that state; search narrows by name."""
    refresh(account.admin)
    client = account.admin.client

    def names(query: str) -> list[str]:
        return table_users(client.get(f"/admin/?{query}").get_data(as_text=True))

    assert names("show=not_enrolled") == ["direct.user", "group.user", "loose.user", "stale.device"]
    assert names("show=abandoned") == ["stale.device"]
    assert names("show=not_covered") == ["loose.user"]
    assert names("q=USER") == ["direct.user", "enrolled.user", "group.user", "loose.user"]
    assert names("q=%25") == []  # LIKE wildcards are searched for literally
    assert names("sort=status&order=desc")[:2] == ["admin", "enrolled.user"]
    assert names("show=abandoned&page=9") == ["stale.device"]  # past the end: the last page


@pytest.mark.parametrize("query", ["show=bogus", "page=0", "page=abc", "sort=password", "order=up", f"q={'x' * 65}"])
def test_invalid_filters_are_refused_plainly(lite_account, query):
    """A tampered query string gets a 400 that says what was wrong, with the unfiltered list."""
    refresh(lite_account.admin)
    page = lite_account.admin.client.get(f"/admin/?{query}")
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "Some filter values were not valid" in html
    assert len(table_users(html)) == 6


@pytest.fixture
def crowd(admin_app, iam, make_user):
    """An admin and 130 seeded users: three pages of 50."""
    seed.seed_population(130, 90, 10, rng_seed=3)
    iam.create_user(UserName="=1+1")  # IAM allows = + @ - in names: a formula in a spreadsheet
    return with_mfa(admin_app, iam, make_user(ADMIN))


def read_csv(answer) -> list[dict[str, str]]:
    """Parse a CSV download."""
    assert answer.mimetype == "text/csv"
    assert answer.headers["Content-Disposition"].startswith('attachment; filename="mfa-enrollment-')
    return list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))


@pytest.mark.parametrize(("show", "sort", "order"), [("all", "name", "asc"), ("not_enrolled", "key_used", "desc"),
                                                     ("all", "enabled", "desc"), ("all", "activity", "desc")])
def test_csv_equals_the_filtered_pages(crowd, admin_app, show, sort, order):
    """Same filter, same rows: the CSV lists exactly what the pages show, in the same order."""
    refresh(crowd)
    query = f"show={show}&sort={sort}&order={order}"
    first = crowd.client.get(f"/admin/?{query}").get_data(as_text=True)
    total = int(re.search(r"<strong>(\d+)</strong> users?( match|\.)", first).group(1))
    shown = []
    for number in range(1, math.ceil(total / listings.PER_PAGE) + 1):
        shown += table_users(crowd.client.get(f"/admin/?{query}&page={number}").get_data(as_text=True))
    exported = read_csv(crowd.client.post("/admin/export", data={"show": show, "sort": sort, "order": order}))
    names = [row["user"].removeprefix("'") for row in exported]
    assert names == shown and len(names) == total
    if show == "all":
        assert total == 132 and f"Page 1 of {math.ceil(132 / 50)}" in first
    with admin_app.app_context():
        event = outcomes().filter_by(action="admin_export").one()
        assert f'"rows": {total}' in event.detail and f'"show": "{show}"' in event.detail


def test_csv_neutralises_formulas(crowd):
    """A cell that would start a spreadsheet formula is prefixed with an apostrophe."""
    refresh(crowd)
    rows = read_csv(crowd.client.post("/admin/export", data={"q": "=1", "show": "all", "sort": "name",
                                                              "order": "asc"}))
    assert [row["user"] for row in rows] == ["'=1+1"]
    assert rows[0]["mfa_status"] == "none" and rows[0]["force_mfa_policy"] == "none"


def test_rows_of_the_latest_snapshots_are_kept_totals_for_the_retention(account, admin_app):
    """Each refresh adds a snapshot; per-user rows and findings stay for the newest three, totals for the history."""
    for _ in range(4):
        assert_page(refresh(account.admin), 200, "Refreshed: 6 users read")
    with admin_app.app_context():
        kept = [s.id for s in ReportSnapshot.query.order_by(ReportSnapshot.id)]
        assert len(kept) == 4
        assert {r.snapshot_id for r in ReportUser.query} == set(kept[-snapshots.KEEP:])
        assert {r.snapshot_id for r in ReportFinding.query} == set(kept[-snapshots.KEEP:])
        assert ReportUser.query.count() == 6 * snapshots.KEEP


def test_refresh_at_scale_stays_within_a_few_calls(lite_app, iam, make_user, aws_calls, monkeypatch):
    """2,500 users cost about a dozen calls, counted as AWS pages them; never one per user."""
    seed.seed_population(2500, 2000, 100, rng_seed=5)
    admin = with_mfa(lite_app, iam, make_user(ADMIN))
    seen = []
    real_collect = reporting.collect
    monkeypatch.setattr(reporting, "collect", lambda *a, **kw: seen.append(real_collect(*a, **kw)) or seen[-1])
    aws_calls.clear()
    assert_page(refresh(admin), 200, "Refreshed: 2,501 users read")
    made = [operation for _service, operation, _params, with_mfa_session in aws_calls if with_mfa_session]
    assert len(made) == len(aws_calls) <= 15, made
    assert "ListMFADevices" not in made
    assert all(params.get("MaxItems") == 1000 for _s, op, params, _m in aws_calls
               if op.startswith(("List", "GetGroup")))
    # moto returns ListUsers and GetGroup in one page; AWS pages 1,000 at a time, so recount those as AWS would.
    listed = {op for op, _items in seen[0].fetched}
    as_aws_pages = sum(max(1, math.ceil(items / 1000)) for _op, items in seen[0].fetched)
    as_aws_pages += sum(1 for op in made if op not in listed)
    assert as_aws_pages <= 15, seen[0].fetched
    with lite_app.app_context():
        assert snapshots.latest().users == 2501 and snapshots.latest().abandoned == 100


def test_hardware_and_fido_users_count_as_other(lite_app, iam, make_user):
    """MFA active in the credential report without a virtual device means a hardware token or FIDO key."""
    make_user("hw.user")
    make_user("fido.user")
    seed.backend().enable_mfa_device("hw.user", "GAHT12345678", "123456", "654321")
    seed.backend().enable_mfa_device("fido.user", "arn:aws:iam::123456789012:u2f/user/fido.user/key-AB12", "", "")
    admin = with_mfa(lite_app, iam, make_user(ADMIN))
    refresh(admin)
    rows = rows_by_name(lite_app)
    assert rows["hw.user"].mfa_status == rows["fido.user"].mfa_status == "other"
    assert rows["hw.user"].device_names is None
    assert table_users(admin.client.get("/admin/?show=other").get_data(as_text=True)) == ["fido.user", "hw.user"]
    detail = admin.client.get("/admin/users/fido.user").get_data(as_text=True)
    assert "security key" in detail and "key-AB12" in detail


def test_a_missing_force_mfa_policy_is_named(moto, tmp_path, iam, make_user):
    """Coverage is unknown, not zero, when the configured policy does not exist, and the page says so."""
    app = make_test_app(tmp_path, ADMIN_USERS=[ADMIN], FORCE_MFA_POLICY_NAME="RequireMFA")
    admin = with_mfa(app, iam, make_user(ADMIN))
    html = refresh(admin).get_data(as_text=True)
    assert "The force-MFA policy was not found" in html
    assert "arn:aws:iam::123456789012:policy/RequireMFA" in html
    assert rows_by_name(app)[ADMIN].covered_by == "unknown"


# moto warns that IAM's model has no Throttling shape; real IAM sends it anyway ("Rate exceeded").
@pytest.mark.filterwarnings("ignore:Exception\\(IAMException\\) with code Throttling:UserWarning")
def test_throttling_shows_the_busy_page(lite_app, iam, make_user, monkeypatch, clock):
    """AWS throttling during a refresh becomes the 503 page; no half snapshot is stored; it is audited."""
    admin = with_mfa(lite_app, iam, make_user(ADMIN))
    clock.run()

    def throttled(self):
        raise IAMException("Throttling", "Rate exceeded")

    monkeypatch.setattr(IamResponse, "list_users", throttled)
    page = refresh(admin, follow=False)
    assert page.status_code == 503 and "AWS is not answering" in page.get_data(as_text=True)
    with lite_app.app_context():
        assert ReportSnapshot.query.count() == 0
        event = outcomes().filter_by(action="admin_refresh").one()
        assert event.outcome == "failure" and "AwsUnavailable" in event.detail


def test_pages_need_no_inline_script_or_style(account):
    """The CSP forbids inline script and style: the chart and bars are SVG attributes and CSS classes."""
    refresh(account.admin)
    for url in ["/admin/", "/admin/users/enrolled.user", "/admin/audit"]:
        html = account.admin.client.get(url).get_data(as_text=True)
        assert " style=" not in html and "<style" not in html
        scripts = re.findall(r'<script src="/static/js/portal\.js\?v=[0-9a-f]{12}" defer></script>', html)
        assert html.count("<script") == len(scripts) == 1
    assert '<rect class="chart-bar"' in account.admin.client.get("/admin/").get_data(as_text=True)


def test_dashboard_before_any_refresh(lite_account):
    """Before the first refresh the page explains what a refresh does, and offers it."""
    html = lite_account.admin.client.get("/admin/").get_data(as_text=True)
    assert "No data yet." in html and "Read enrollment from AWS" in html
    answer = lite_account.admin.client.post("/admin/export", data={"show": "all", "sort": "name", "order": "asc"})
    assert_redirect(answer, "/admin/", "Refresh the data first.", client=lite_account.admin.client)

"""Unit tests of the admin area's small pure pieces (the helpers the admin tests share: admin_helpers.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.admin.charts import HEIGHT, WIDTH, bars
from app.admin.exports import cell
from app.services import reporting

# Unit tests of the pure pieces: credential-report polling, row building, CSV cells, chart geometry.

REPORT_CSV = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,"
    "mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,"
    "access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,"
    "access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n"
    "<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,no_information,"
    "not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
    "ann,arn:aws:iam::123456789012:user/ann,2024-01-01T00:00:00+00:00,true,2024-05-01T00:00:00+00:00,"
    "N/A,N/A,true,true,2024-01-01T00:00:00+00:00,2024-03-01T10:00:00+00:00,us-east-1,iam,true,"
    "2024-02-01T00:00:00+00:00,2024-04-01T10:00:00+00:00,us-east-1,s3,false,N/A,false,N/A\n"
)


@pytest.fixture
def stubbed():
    """An IAM client whose answers the test scripts (botocore's Stubber), and the sleeps it was asked for."""
    from botocore.stub import Stubber

    from app import aws

    client = aws.client("iam", aws.Keys("AKIAEXAMPLEEXAMPLE12", "x" * 40), aws.Settings())
    with Stubber(client.botocore_client) as stub:
        yield client, stub, []


def test_report_polling_backs_off_until_complete(stubbed, monkeypatch):
    """STARTED, STARTED, COMPLETE: two growing waits, then one download; the root row is skipped."""
    client, stub, slept = stubbed
    monkeypatch.setattr(reporting, "BACKOFF", (0.25, 0.5, 1.0))
    for state in ("STARTED", "STARTED", "COMPLETE"):
        stub.add_response("generate_credential_report", {"State": state})
    stub.add_response("get_credential_report", {"Content": REPORT_CSV.encode(), "ReportFormat": "text/csv",
                                                "GeneratedTime": datetime(2024, 6, 1)})
    rows, generated = reporting.credential_report(client, slept.append)
    assert slept == [0.25, 0.5]
    assert list(rows) == ["ann"] and rows["ann"]["mfa_active"] == "true"
    assert generated == datetime(2024, 6, 1, tzinfo=UTC)


def test_report_that_never_completes_gives_up_in_bounded_time(stubbed, monkeypatch):
    """A report stuck in progress costs at most len(BACKOFF)+1 calls and sum(BACKOFF) seconds, then a 503."""
    client, stub, slept = stubbed
    monkeypatch.setattr(reporting, "BACKOFF", (0.25, 0.5, 1.0))
    for _ in range(4):
        stub.add_response("generate_credential_report", {"State": "INPROGRESS"})
    with pytest.raises(reporting.ReportNotReady) as caught:
        reporting.credential_report(client, slept.append)
    assert caught.value.status == 503 and sum(slept) == 1.75
    stub.assert_no_pending_responses()


@pytest.mark.parametrize("code", ["ReportExpired", "ReportNotPresent", "ReportInProgress"])
def test_report_gone_between_calls_is_generated_once_more(stubbed, code):
    """An expired, missing or in-progress report is generated again once; a second failure is a 503."""
    client, stub, slept = stubbed
    stub.add_response("generate_credential_report", {"State": "COMPLETE"})
    stub.add_client_error("get_credential_report", service_error_code=code, http_status_code=410)
    stub.add_response("generate_credential_report", {"State": "COMPLETE"})
    stub.add_response("get_credential_report", {"Content": REPORT_CSV.encode()})
    assert list(reporting.credential_report(client, slept.append)[0]) == ["ann"]
    stub.add_response("generate_credential_report", {"State": "COMPLETE"})
    stub.add_client_error("get_credential_report", service_error_code=code, http_status_code=410)
    stub.add_response("generate_credential_report", {"State": "COMPLETE"})
    stub.add_client_error("get_credential_report", service_error_code=code, http_status_code=410)
    with pytest.raises(reporting.ReportNotReady):
        reporting.credential_report(client, slept.append)


def test_rows_join_users_devices_report_and_coverage():
    """Status, devices, dates, key use, coverage and abandoned devices come from the right list."""
    users = [{"UserName": n, "Arn": f"arn:aws:iam::1:user/{n}", "CreateDate": datetime(2024, 1, 1)}
             for n in ("ann", "bob", "cat", "dan")]
    enabled = datetime(2024, 2, 1, tzinfo=UTC)
    devices = [
        {"SerialNumber": "arn:aws:iam::1:mfa/bob-phone", "User": {"UserName": "bob"}, "EnableDate": enabled},
        {"SerialNumber": "arn:aws:iam::1:mfa/cat-phone"},  # never enabled: cat's abandoned enrollment
        {"SerialNumber": "arn:aws:iam::1:mfa/eve-phone"},  # matches nobody: an orphan
    ]
    report = {"ann": {"mfa_active": "true", "password_enabled": "true",
                      "access_key_1_last_used_date": "2024-03-01T10:00:00+00:00",
                      "access_key_2_last_used_date": "2024-04-01T10:00:00+00:00"},
              "bob": {"mfa_active": "true", "password_enabled": "false", "access_key_1_last_used_date": "N/A"}}
    coverage = {"ann": "direct", "bob": "group:a,b"}
    rows, orphans = reporting.build_rows(users, devices, report, coverage, "{username}-phone", "1")
    by = {r.user_name: r for r in rows}
    assert [(r.mfa_status, r.device_names, r.abandoned, r.covered_by) for r in rows] == [
        ("other", None, False, "direct"), ("virtual", "bob-phone", False, "group:a,b"),
        ("none", None, True, "none"), ("none", None, False, "none")]
    assert by["bob"].enabled_at == enabled and by["ann"].enabled_at is None
    assert by["ann"].key_last_used == datetime(2024, 4, 1, 10, tzinfo=UTC)
    assert by["ann"].password_enabled is True and by["dan"].password_enabled is None
    assert by["ann"].created.tzinfo is not None
    assert orphans == ["eve-phone"]
    unknown, _ = reporting.build_rows(users, devices, report, None, "{username}-phone", "1")
    assert {r.covered_by for r in unknown} == {"unknown"}


@pytest.mark.parametrize(("value", "text"), [
    ("=SUM(A1)", "'=SUM(A1)"), ("+1", "'+1"), ("-2", "'-2"), ("@x", "'@x"), ("\tx", "'\tx"), ("a=b", "a=b"),
    (None, ""), (True, "yes"), (False, "no"), (datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05Z"),
])
def test_csv_cells_never_start_a_formula(value, text):
    """Spreadsheet formula starters are neutralised; other values are rendered plainly."""
    assert cell(value) == text


def test_chart_bars_scale_to_the_busiest_month(app):
    """The busiest month fills the plot; empty months have no height; years label January and the start."""
    with app.test_request_context():  # month names come from the page's language
        chart_bars_scale_to_the_busiest_month()


def chart_bars_scale_to_the_busiest_month():
    """The assertions, inside a request (so in English)."""
    laid = bars([("2024-11", 2), ("2024-12", 0), ("2025-01", 4)])
    assert [b.height for b in laid] == [round((HEIGHT - 56) / 2, 1), 0, HEIGHT - 56]
    assert [(b.label, b.year) for b in laid] == [("Nov", "2024"), ("Dec", ""), ("Jan", "2025")]
    assert laid[2].y == 24 and laid[0].x < laid[1].x < laid[2].x < WIDTH
    assert bars([]) == []
    quiet_start = [(f"2024-{m:02d}", 0) for m in range(1, 11)] + [("2024-11", 3)]
    assert [b.label for b in bars(quiet_start)][0] == "Jun"  # leading empty months trimmed to six in all


def test_month_series_ends_this_month():
    """The chart always shows the last CHART_MONTHS months, oldest first, gaps as zero."""
    report = reporting.Report(rows=[], policy_arn="", policy_found=True, report_generated_at=None)
    series = report.chart(datetime(2025, 2, 15, tzinfo=UTC))
    assert len(series) == reporting.CHART_MONTHS and series[-1] == ("2025-02", 0) and series[0] == ("2023-09", 0)


def test_history_sparklines_scale_to_their_peak():
    """A series fills the plot up to its peak; unknown days leave gaps; one day sits in the middle."""
    from app.admin.charts import SPARK_HEIGHT, SPARK_PAD, SPARK_WIDTH, spark

    line = spark([0, None, 5, 10])
    assert [y for _x, y in line.dots] == [SPARK_HEIGHT - SPARK_PAD, SPARK_HEIGHT / 2, SPARK_PAD]
    assert len(line.dots) == 3 and line.peak == 10 and line.points.count(",") == 3
    assert spark([0, 0]).peak == 0 and spark([0, 0]).dots[0][1] == SPARK_HEIGHT - SPARK_PAD
    middle = (SPARK_WIDTH / 2, round(SPARK_PAD + (SPARK_HEIGHT - 2 * SPARK_PAD) * 0.6, 1))
    assert spark([40.0], peak=100.0).dots == [middle]

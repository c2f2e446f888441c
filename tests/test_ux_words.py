"""Words and layout people trip on: plurals, the demo badge everywhere, audit details in words, unbroken units."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from admin_helpers import ADMIN, refresh
from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.models import iam_backends

pytest_plugins = ["admin_fixtures"]


@pytest.fixture
def enrolled(person):
    """A new hire who just enrolled."""
    person.enroll_fully()
    return person


@pytest.mark.parametrize("path", ["/", "/security/keys", "/security/ssh", "/security/profiles",
                                  "/security/certificates"])
def test_the_demo_badge_shows_on_every_page(app, client, enrolled, path):
    app.config["DEMO_MODE"] = True
    page = client.get(path)
    assert page.status_code == 200 and 'class="badge badge-demo"' in page.get_data(as_text=True)


def test_one_day_is_one_day_and_statuses_are_capitalised_alike(client, enrolled):
    key = enrolled.user.access_key_id
    iam_backends[DEFAULT_ACCOUNT_ID]["aws"].access_keys[key].create_date -= timedelta(days=1, hours=1)
    page = client.get("/security/keys").get_data(as_text=True)
    assert "1 days" not in page and re.search(r">1\xa0day<|>1 day<", page)
    assert "<td>Active</td>" in page and "<td>active</td>" not in page


def test_japanese_numbers_never_part_from_their_units(client, enrolled):
    client.set_cookie("lang", "ja")
    page = client.get("/credentials/result").get_data(as_text=True)
    assert re.search(r"\d\xa0(時間|分)", page) and not re.search(r"\d (時間|分)", page)


def test_admin_words_count_and_audit_details_read_as_words(lite_account, client):
    admin = lite_account.admin
    client.post("/login", data={"access_key_id": "AKIAGUESSEDKEY123456", "secret_access_key": "a" * 40})
    one = admin.client.get("/admin/audit?action=sign_in&outcome=failure").get_data(as_text=True)
    assert "Export this 1 as CSV" in one and "Export these 1" not in one
    assert "AWS did not accept the keys" in one and "KeysRejected" not in one
    admin.client.post("/admin/export", data={"show": "all", "sort": "name", "order": "asc"})
    exported = admin.client.get("/admin/audit?action=admin_export").get_data(as_text=True)
    assert "{" not in re.search(r'<td class="detail">(.*?)</td>', exported, re.S).group(1)
    refresh(admin)
    dashboard = admin.client.get("/admin/?q=" + ADMIN).get_data(as_text=True)
    assert "<strong>1</strong> user matches these filters:" in dashboard
    assert "<li>Name contains: admin</li>" in dashboard


def test_japanese_reads_as_a_native_reader_expects(client, enrolled):
    client.set_cookie("lang", "ja")
    keys = client.get("/security/keys").get_data(as_text=True)
    # One form for "My …": マイ (the phone header has room for no more), never 自分の beside it.
    assert "このセッションで使用中" in keys and "マイアクセスキー" in keys and "自分の" not in keys
    assert "あなたの IAM ユーザーの権限で操作できます" in keys and "あなたとして" not in keys
    assert "あなたのキーは" not in keys  # the footer says it once, without "you"
    ssh = client.get("/security/ssh").get_data(as_text=True)
    assert "SSH 公開鍵" in ssh and "SSH 公開キー" not in ssh and "SSH キー" not in ssh
    devices = client.get("/security/devices").get_data(as_text=True)
    assert "有効化日<" in devices and "有効化日時" not in devices
    remove = client.get("/security/devices/remove/arn:aws:iam::123456789012:mfa/new.hire").get_data(as_text=True)
    assert "を削除しますか？" in remove and "か?" not in remove
    refused = client.post("/security/devices", data={"device": "XYZW12345678", "code1": "123456",
                                                     "code2": "654321"}).get_data(as_text=True)
    assert "対処方法:" in refused and "次にすること" not in refused
    scan_words = client.get("/security/keys/rotate").get_data(as_text=True)
    assert not re.search(r"</(em|strong)> [をがにはでとのへも]", scan_words + keys + ssh + devices)


def test_the_month_table_names_each_month_with_its_year_in_japanese_order(app):
    from app.admin import charts

    with app.test_request_context(headers={"Accept-Language": "ja"}):
        bars = charts.bars([("2026-06", 3), ("2026-07", 1)])
    assert bars[0].month == "2026年6月"

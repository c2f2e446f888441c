"""Words and layout people trip on: plurals, the demo badge everywhere, audit details in words, unbroken units."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.models import iam_backends
from test_admin_helpers import ADMIN, refresh

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
    assert re.search(r"<strong>1</strong> user contains “admin”\.", dashboard)

"""The person's own to-do list: the service at its boundaries, and the home page in each state."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.models import iam_backends
from pages import assert_redirect

from app.services.access_keys import AccessKey
from app.services.todo import Facts, Item, Kind, items
from conftest import Person, code, make_test_app, operations

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
IN_USE = "AKIAINUSE0000000000A"
OTHER = "AKIAOTHER0000000000B"


def key(key_id=IN_USE, days=10, status="Active", in_use=True, hours=0):
    """A key created `days` (and `hours`) before NOW."""
    return AccessKey(key_id, status, NOW - timedelta(days=days, hours=hours), in_use)


def todo(keys=None, **facts):
    """The items for an enrolled person with these keys."""
    return items(Facts(True, keys if keys is not None else [key()], **facts), NOW, 90)


# The service --------------------------------------------------------------------------------------------

def test_no_device_is_one_item_naming_iam_19():
    assert items(Facts(False), NOW, 90) == [Item(Kind.SET_UP_MFA, ("IAM.19",))]


def test_a_console_password_without_a_device_adds_iam_5_to_the_same_item():
    # One fix (a device) closes both findings, so it stays one item.
    assert items(Facts(False, console_password=True), NOW, 90) == [Item(Kind.SET_UP_MFA, ("IAM.5", "IAM.19"))]
    assert items(Facts(False, console_password=False), NOW, 90) == [Item(Kind.SET_UP_MFA, ("IAM.19",))]


def test_without_a_device_the_keys_are_not_judged():
    """Before MFA no key fix is possible: the list is enrollment alone, however old the key."""
    assert [i.kind for i in items(Facts(False, [key(days=400)]), NOW, 90)] == [Kind.SET_UP_MFA]


@pytest.mark.parametrize(("days", "hours", "flagged"), [(89, 0, False), (90, 0, False), (90, 23, False),
                                                        (91, 0, True), (400, 0, True)])
def test_the_key_in_use_is_old_at_strictly_more_than_the_threshold(days, hours, flagged):
    found = todo([key(days=days, hours=hours)])
    assert found == ([Item(Kind.ROTATE_KEY, ("IAM.3",), key(days=days, hours=hours), days)] if flagged else [])


def test_the_threshold_is_the_setting():
    assert items(Facts(True, [key(days=31)]), NOW, 30)[0].controls == ("IAM.3",)
    assert items(Facts(True, [key(days=31)]), NOW, 31) == []


def test_a_handed_over_key_is_one_rotation_item_old_or_not():
    young = todo([key(days=5)], handed_over=IN_USE)
    assert young == [Item(Kind.ROTATE_KEY, (), key(days=5), None, True)]
    old = todo([key(days=120)], handed_over=IN_USE)
    assert old == [Item(Kind.ROTATE_KEY, ("IAM.3",), key(days=120), 120, True)]


def test_a_second_active_key_is_to_be_retired_and_carries_iam_3_when_old():
    other = key(OTHER, days=30, in_use=False)
    assert todo([key(), other]) == [Item(Kind.RETIRE_KEY, ("CIS.two-active-keys",), other)]
    old_other = key(OTHER, days=91, in_use=False)
    assert todo([key(), old_other]) == [Item(Kind.RETIRE_KEY, ("IAM.3", "CIS.two-active-keys"), old_other, 91)]


def test_inactive_keys_are_no_finding():
    assert todo([key(), key(OTHER, days=500, status="Inactive", in_use=False)]) == []


def test_the_other_key_comes_before_the_rotation_which_needs_its_slot():
    found = todo([key(days=100), key(OTHER, days=20, in_use=False)])
    assert [(i.kind, i.key.key_id, i.controls) for i in found] == [
        (Kind.RETIRE_KEY, OTHER, ("CIS.two-active-keys",)), (Kind.ROTATE_KEY, IN_USE, ("IAM.3",))]


def test_a_console_password_is_asked_only_where_the_company_wants_one_and_aws_said_there_is_none():
    assert todo(password_wanted=True, console_password=False) == [Item(Kind.SET_PASSWORD)]
    assert todo(password_wanted=True, console_password=True) == []
    assert todo(password_wanted=True, console_password=None) == []  # not asked (no MFA session): no guess
    assert todo(password_wanted=False, console_password=False) == []


def test_an_enrolled_person_with_a_young_key_has_nothing_to_do():
    assert todo() == []


# The home page --------------------------------------------------------------------------------------------

def backend():
    """moto's IAM objects, to backdate what the API cannot."""
    return iam_backends[DEFAULT_ACCOUNT_ID]["aws"]


def age(key_id: str, days: int) -> None:
    """Backdate a key's creation in the emulator."""
    backend().access_keys[key_id].create_date -= timedelta(days=days)


def items_on(page: str) -> list[str]:
    """The data-kind of each to-do item on a home page."""
    return re.findall(r'<li class="todo-item" data-kind="([a-z-]+)"', page)


@pytest.fixture
def enrolled(person):
    """A new hire who just enrolled: MFA session in hand, the handed-over key still in use."""
    person.enroll_fully()
    return person


def home(client) -> str:
    """The home page's text."""
    answer = client.get("/")
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def test_no_device_shows_the_set_up_item_with_its_button(client, person):
    person.sign_in()
    page = home(client)
    assert items_on(page) == ["set-up-mfa"]
    assert "Controls: IAM.19" in page and 'action="/enroll/start"' in page
    assert "Set up my MFA device" in page and "Nothing to do" not in page
    assert re.search(r'<section class="todo" aria-labelledby="todo-heading">\s*<h2 id="todo-heading">', page)


def test_an_abandoned_setup_is_continued_from_the_item(client, person):
    person.sign_in()
    person.start_enrollment()
    page = home(client)
    assert items_on(page) == ["set-up-mfa"]
    assert "Continue the setup" in page and 'href="/enroll/scan"' in page


def test_after_enrolling_the_handed_over_key_is_the_one_item(client, enrolled):
    page = home(client)
    assert items_on(page) == ["rotate-key"]
    assert 'id="rotate-offer"' in page and "Replace the key your administrator gave you" in page
    assert 'href="/security/keys/rotate"' in page and "Controls:" not in page


def test_an_old_key_shows_iam_3_with_its_age(app, client, enrolled):
    age(enrolled.user.access_key_id, 120)
    page = home(client)
    assert items_on(page) == ["rotate-key"]
    assert f"Rotate access key {enrolled.user.access_key_id}: it is 120 days old" in page
    assert "Controls: IAM.3" in page


def test_a_second_active_key_offers_deactivation_and_deletion(client, enrolled, iam):
    # Now the portal signs with a new key.
    client.post("/security/keys/rotate", data={"profile": "x", **enrolled.code_here()})
    client.post("/security/keys/rotate/finish")
    old = enrolled.user.access_key_id
    iam.update_access_key(UserName="new.hire", AccessKeyId=old, Status="Active")  # back on, elsewhere
    page = home(client)
    assert items_on(page) == ["retire-key"]
    assert f"Deactivate or delete access key {old}" in page and "Controls: CIS.two-active-keys" in page
    assert f'action="/security/keys/{old}/status"' in page and f'href="/security/keys/{old}/delete"' in page
    assert 'name="status" value="Inactive"' in page
    client.post(f"/security/keys/{old}/status", data={"status": "Inactive"})  # the item's first button
    assert items_on(home(client)) == []


def test_nothing_to_do_is_said(client, enrolled):
    client.post("/security/keys/rotate", data={"profile": "x", **enrolled.code_here()})
    client.post("/security/keys/rotate/finish")
    page = home(client)
    assert items_on(page) == [] and "Nothing to do" in page and '<ul class="todo-list">' not in page


def test_several_items_are_one_list(client, enrolled, iam):
    other = iam.create_access_key(UserName="new.hire")["AccessKey"]["AccessKeyId"]
    age(enrolled.user.access_key_id, 100)
    page = home(client)
    assert items_on(page) == ["retire-key", "rotate-key"]
    assert page.count('<ul class="todo-list">') == 1 and other in page


def test_the_rotation_ends_on_the_home_page_without_its_item(client, enrolled):
    age(enrolled.user.access_key_id, 95)
    assert items_on(home(client)) == ["rotate-key"]
    client.post("/security/keys/rotate", data={"profile": "x", **enrolled.code_here()}, follow_redirects=True)
    finished = client.post("/security/keys/rotate/finish")
    assert finished.status_code == 302 and finished.location == "/"
    page = client.get(finished.location).get_data(as_text=True)
    assert "Your old key is now inactive" in page and items_on(page) == []


@pytest.fixture
def password_app(moto, tmp_path):
    """The portal of a company that wants everyone to have a console password."""
    return make_test_app(tmp_path, TODO_CONSOLE_PASSWORD=True)


def test_a_wanted_console_password_is_an_item_until_set(password_app, make_user, aws_calls):
    client = password_app.test_client()
    walker = Person(client, make_user("new.hire"))
    walker.enroll_fully()
    client.post("/security/keys/rotate", data={"profile": "x", **walker.code_here()})
    client.post("/security/keys/rotate/finish")
    page = home(client)
    assert items_on(page) == ["set-password"] and 'href="/security/password"' in page
    client.post("/security/password", data={"new": "Correct-Horse-42", "confirm": "Correct-Horse-42"})
    assert items_on(home(client)) == []
    assert all(mfa for _s, op, _p, mfa in aws_calls if op == "GetLoginProfile")


def test_a_wanted_console_password_is_not_guessed_without_an_mfa_session(password_app, make_user, aws_calls):
    client = password_app.test_client()
    walker = Person(client, make_user("new.hire"))
    walker.enroll_fully()
    client.post("/logout")
    walker.sign_in()  # a device, no MFA session yet: GetLoginProfile would be denied
    before = len(aws_calls)
    assert "set-password" not in items_on(home(client))
    assert "GetLoginProfile" not in operations(aws_calls[before:])


def test_the_setting_is_off_by_default(client, enrolled, aws_calls):
    client.post("/security/keys/rotate", data={"profile": "x", **enrolled.code_here()})
    client.post("/security/keys/rotate/finish")
    before = len(aws_calls)
    assert items_on(home(client)) == []
    assert operations(aws_calls[before:]) == ["ListAccessKeys"]  # the device list is this session's


def test_a_person_who_removed_their_last_device_is_told_iam_5_when_aws_says_they_have_a_password(client, enrolled,
                                                                                                  iam):
    iam.create_login_profile(UserName="new.hire", Password="Correct-Horse-42")
    client.post("/security/devices/remove/arn:aws:iam::123456789012:mfa/new.hire",
                data=enrolled.code_here())  # the last device: a code typed on its page
    page = home(client)
    assert items_on(page) == ["set-up-mfa"] and "Controls: IAM.5, IAM.19" in page
    assert "Your console password alone" in page


def test_the_list_is_in_japanese(client, enrolled):
    age(enrolled.user.access_key_id, 120)
    page = client.get("/", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert "やることリスト" in page and "作成から 120\u00a0日経過" in page and "コントロール: IAM.3" in page


def test_the_settings_are_read_once_from_the_environment(monkeypatch):
    from app.config import from_environment

    assert (from_environment()["FINDINGS_KEY_AGE_DAYS"], from_environment()["TODO_CONSOLE_PASSWORD"]) == (90, False)
    monkeypatch.setenv("FINDINGS_KEY_AGE_DAYS", "60")
    monkeypatch.setenv("TODO_CONSOLE_PASSWORD", "1")
    assert (from_environment()["FINDINGS_KEY_AGE_DAYS"], from_environment()["TODO_CONSOLE_PASSWORD"]) == (60, True)


def test_deactivating_without_an_mfa_session_comes_back_to_the_keys_page_after_the_code(client, enrolled, iam, clock):
    """The item's button is a POST; after the code page the person returns to a page, not a 405."""
    other = iam.create_access_key(UserName="new.hire")["AccessKey"]["AccessKeyId"]
    client.post("/logout")
    enrolled.sign_in()
    assert items_on(home(client)) == ["retire-key", "rotate-key"]
    asked = client.post(f"/security/keys/{other}/status", data={"status": "Inactive"})
    assert asked.status_code == 302 and asked.location == "/credentials/code?next=/security/keys&why=session"
    clock.advance(2)
    back = client.post(asked.location, data={"device": "arn:aws:iam::123456789012:mfa/new.hire",
                                             "code": code(enrolled.seed), "duration": "3600", "profile": "default"})
    assert back.location == "/security/keys"
    assert_redirect(back, "/security/keys", "My access keys", client=client)
    client.post(f"/security/keys/{other}/status", data={"status": "Inactive"})  # now with the MFA session
    assert items_on(home(client)) == ["rotate-key"]

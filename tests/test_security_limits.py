"""Rate limits: failed sign-ins per key and per address, codes per user and device, a 429 page that says when."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pyotp
import pytest
import time_machine
from pages import AWS_AWAY, assert_page, assert_redirect

from app import code_budgets, limits
from app.models import AuditEvent
from app.services import signin
from conftest import Clock, Person, make_test_app
from security_helpers import outcomes

BAD_KEYS = {"access_key_id": "AKIA123", "secret_access_key": "x"}  # refused before any AWS call
ELSEWHERE = "192.0.2.44"
# What a refused sign-in and a refused code say.
KEY_SHAPE = "A secret access key is 40 characters of letters, digits"
CODE_REFUSED = "AWS did not accept this code for your MFA device."


@pytest.fixture
def limited_app(moto, tmp_path):
    """The portal with rate limiting on, as in production."""
    return make_test_app(tmp_path, RATELIMIT_ENABLED=True)


def first_number(rule: str) -> int:
    """The per-minute allowance of a limit string like '8 per minute;60 per hour'."""
    return int(rule.split()[0])


def allowance(app, budget: signin.SignInBudget) -> int:
    """The failures a sign-in budget allows in its shortest window, read from the app's settings."""
    return min(signin.rules(app.config, budget), key=lambda item: item.get_expiry()).amount


def assert_rate_limited(page) -> int:
    """The 429 page says when to come back, in the header and in words; return the seconds."""
    body = page.get_data(as_text=True)
    assert page.status_code == 429
    seconds = int(page.headers["Retry-After"])
    assert 0 < seconds <= 60
    assert "Too many" in body
    words = re.search(r'try again in <span class="countdown" data-seconds="(\d+)">\1</span> seconds', body)
    assert words and int(words.group(1)) == seconds
    assert "Traceback" not in body and "ratelimit" not in body.lower()
    return seconds


def assert_sign_in_paused(page, where: str) -> str:
    """The sign-in 429 page names the budget that ran out and says nothing reached AWS."""
    assert_rate_limited(page)
    body = page.get_data(as_text=True)
    assert "Too many failed sign-ins" in body
    assert f"too many failed sign-ins {where}" in body and "Nothing was sent to AWS" in body
    return body


def rate_limited_events(app) -> list[AuditEvent]:
    """The audit log's rate-limit refusals."""
    with app.app_context():
        return outcomes().filter_by(action="rate_limited").all()


def failed_sign_in(client, key_id: str, address: str = "127.0.0.1"):
    """Sign in with a key ID and a secret of the wrong shape (refused before AWS, yet a failure)."""
    return client.post("/login", data={"access_key_id": key_id, "secret_access_key": "x"},
                       environ_overrides={"REMOTE_ADDR": address})


def test_successful_sign_ins_never_count_and_failures_meet_the_address_budget(limited_app, make_user):
    # An onboarding session: thirty new hires behind one office address, all within a minute.
    users = [make_user(f"hire.{n}") for n in range(30)]
    for user in users:
        assert_redirect(Person(limited_app.test_client(), user).sign_in(follow=False), "/")
    # Those sign-ins spent nothing: the address still has its whole failure budget, spread here over many
    # key IDs so that no per-key budget runs out first.
    browser = limited_app.test_client()
    per_address, per_key = allowance(limited_app, signin.PER_ADDRESS), allowance(limited_app, signin.PER_KEY)
    for attempt in range(per_address):
        assert_page(failed_sign_in(browser, f"AKIA{attempt // per_key:016d}"), 400, KEY_SHAPE)
    body = assert_sign_in_paused(failed_sign_in(browser, "AKIA" + "N" * 16), "from your network")
    assert "for this access key" not in body
    # Now even the right keys from that address wait; another address is not affected.
    assert_page(Person(limited_app.test_client(), users[0]).sign_in(follow=False), 429, "Too many failed sign-ins")
    assert_page(failed_sign_in(browser, "AKIA" + "N" * 16, ELSEWHERE), 400, KEY_SHAPE)
    events = rate_limited_events(limited_app)
    assert [(e.outcome, e.source_ip, json.loads(e.detail)) for e in events] == [
        ("refused", "127.0.0.1", {"reason": "auth.login", "budget": "sign-in-failures-per-address"})] * 2


def test_wrong_secrets_for_one_key_are_refused_from_any_address_before_aws(limited_app, make_user, aws_calls):
    owner = make_user("guessed")
    per_key = allowance(limited_app, signin.PER_KEY)
    addresses = [f"198.51.100.{n}" for n in range(1, 2 * per_key + 2)]
    guesser = Person(limited_app.test_client(), owner)
    pages = []
    for n, address in enumerate(addresses):
        guesser.client.environ_base["REMOTE_ADDR"] = address
        if n == per_key:
            aws_calls.clear()  # from here on the budget is spent
        # Pasted with spaces or in lower case, it is still the same key.
        key_id = f" {owner.access_key_id.lower()} " if n == per_key else owner.access_key_id
        pages.append(guesser.sign_in(key_id=key_id, secret="w" * 40, follow=False))
    assert [page.status_code for page in pages[:per_key]] == [401] * per_key  # AWS said no
    for page in pages[per_key:]:
        assert_sign_in_paused(page, "for this access key")
    assert aws_calls == []  # refused before any AWS call, the right secret too:
    owner_now = Person(limited_app.test_client(), owner)
    owner_now.client.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert_sign_in_paused(owner_now.sign_in(follow=False), "for this access key")
    assert aws_calls == []
    # Another person at one of those addresses signs in as usual.
    neighbour = Person(limited_app.test_client(), make_user("neighbour"))
    neighbour.client.environ_base["REMOTE_ADDR"] = addresses[0]
    assert_redirect(neighbour.sign_in(follow=False), "/")
    details = [json.loads(e.detail) for e in rate_limited_events(limited_app)]
    assert details and all(d == {"reason": "auth.login", "budget": "sign-in-failures-per-key"} for d in details)


def test_the_budgets_come_from_the_settings(moto, tmp_path, make_user):
    app = make_test_app(tmp_path, RATELIMIT_ENABLED=True, SIGN_IN_LIMIT_PER_KEY="2 per minute",
                        SIGN_IN_LIMIT_PER_ADDRESS="3 per minute")
    assert allowance(app, signin.PER_KEY) == 2 and allowance(app, signin.PER_ADDRESS) == 3
    browser = app.test_client()
    answers = [failed_sign_in(browser, "AKIA" + "A" * 16) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [400, 400, 429]
    assert_page(answers[1], 400, KEY_SHAPE)
    assert_sign_in_paused(answers[2], "for this access key")
    assert_page(failed_sign_in(browser, "AKIA" + "B" * 16), 400, KEY_SHAPE)  # the address's third
    page = failed_sign_in(browser, "AKIA" + "C" * 16)
    assert_sign_in_paused(page, "from your network")


def test_a_wait_beyond_the_minute_is_said_in_minutes(moto, tmp_path):
    app = make_test_app(tmp_path, RATELIMIT_ENABLED=True, SIGN_IN_LIMIT_PER_KEY="1 per hour")
    browser = app.test_client()
    failed_sign_in(browser, BAD_KEYS["access_key_id"])
    page = failed_sign_in(browser, BAD_KEYS["access_key_id"])
    seconds = int(page.headers["Retry-After"])
    assert page.status_code == 429 and 3540 < seconds <= 3600
    assert "Wait until the countdown below ends (about 60 minutes), then" in page.get_data(as_text=True)


def test_a_mistyped_budget_stops_start_up_naming_the_setting(monkeypatch):
    from app.config import ConfigurationError, from_environment

    monkeypatch.setenv("SIGN_IN_LIMIT_PER_ADDRESS", "sixty a minute")
    with pytest.raises(ConfigurationError, match="SIGN_IN_LIMIT_PER_ADDRESS"):
        from_environment()


def test_the_counters_name_no_access_key_id(limited_app, make_user):
    user = make_user("hashed")
    Person(limited_app.test_client(), user).sign_in(secret="w" * 40)
    identity = signin.key_identity(user.access_key_id, limited_app.secret_key)
    assert identity.startswith("key:") and user.access_key_id not in identity
    path = limited_app.config["RATELIMIT_STORAGE_URI"].split("://", 1)[1]
    stored = b"".join(Path(path + suffix).read_bytes() for suffix in ("", "-wal") if os.path.exists(path + suffix))
    assert identity[4:].encode() in stored and user.access_key_id.encode() not in stored


def backup_device(iam, user_name: str) -> tuple[str, str]:
    """Give the user a second enabled virtual device directly in AWS; return its serial and seed."""
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=f"{user_name}-backup")["VirtualMFADevice"]
    seed = device["Base32StringSeed"].decode()
    totp = pyotp.TOTP(seed)
    iam.enable_mfa_device(UserName=user_name, SerialNumber=device["SerialNumber"],
                          AuthenticationCode1=totp.at(Clock.now() - 30), AuthenticationCode2=totp.at(Clock.now()))
    return device["SerialNumber"], seed


def wrong_code(browser, serial: str):
    """Submit a code AWS refuses for this device."""
    return browser.post("/credentials", data={"device": serial, "code": "000000", "duration": "3600",
                                              "profile": "default"})


def test_codes_are_limited_per_device_then_per_user(limited_app, make_user, iam):
    person = Person(limited_app.test_client(), make_user("limited"))
    person.enroll_fully()  # two code submissions (enable, credentials), both for this device
    main = "arn:aws:iam::123456789012:mfa/limited"
    backup, _seed = backup_device(iam, "limited")
    per_device, per_user = first_number(code_budgets.DEVICE_CODES), first_number(code_budgets.CODES)
    assert per_device < per_user
    for _ in range(per_device - 2):
        assert_page(wrong_code(person.client, main), 400, CODE_REFUSED)
    assert_rate_limited(wrong_code(person.client, main))
    # The other device has its own allowance, until the person's own budget is spent.
    for _ in range(per_user - per_device):
        assert_page(wrong_code(person.client, backup), 400, CODE_REFUSED)
    assert_rate_limited(wrong_code(person.client, backup))
    assert [json.loads(e.detail) for e in rate_limited_events(limited_app)] == [
        {"reason": "credentials_issued", "budget": "codes-per-device"},
        {"reason": "credentials_issued", "budget": "codes-per-user"}]


def test_every_code_route_draws_on_one_budget(limited_app, make_user, iam):
    person = Person(limited_app.test_client(), make_user("spreader"))
    person.enroll_fully()
    serial = "arn:aws:iam::123456789012:mfa/spreader"
    wrong = [
        lambda: person.client.post("/enroll/resync", data={"device": serial, "code1": "000000", "code2": "111111"}),
        lambda: person.client.post("/device/replace", data={"device": serial, "code": "000000"}),
        lambda: wrong_code(person.client, serial),
    ]
    for attempt in range(first_number(code_budgets.DEVICE_CODES) - 2):
        assert_page(wrong[attempt % 3](), 400, "That code was not accepted")
    for guess in wrong:
        assert_rate_limited(guess())


def test_the_per_user_limit_follows_the_person_across_sessions_and_addresses(limited_app, make_user, iam):
    user = make_user("two.browsers")
    first = Person(limited_app.test_client(), user)
    first.enroll_fully()
    backup, _seed = backup_device(iam, "two.browsers")
    second = Person(limited_app.test_client(), user)
    second.client.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    second.sign_in()
    for _ in range(first_number(code_budgets.CODES) - 2):  # enrolling spent two
        assert_page(wrong_code(first.client, backup), 400, CODE_REFUSED)
    # The other browser, address and device still meet the same person's spent budget.
    assert_rate_limited(wrong_code(second.client, "arn:aws:iam::123456789012:mfa/two.browsers"))


def test_enrollment_codes_are_limited_per_pending_device(limited_app, make_user):
    person = Person(limited_app.test_client(), make_user("verifier"))
    person.sign_in()
    person.start_enrollment()
    for _ in range(first_number(code_budgets.DEVICE_CODES)):
        assert_page(person.verify("000000", "111111"), 400, "AWS did not accept those two codes for this device.")
    assert_rate_limited(person.verify("000000", "111111"))


def test_code_counters_name_the_person_and_the_device_the_code_is_for(limited_app):
    with limited_app.app_context():
        counters = code_budgets.code_counters("arn:aws:iam::1:user/p", "arn:x" + "y" * 500)
    identities = {scope: ids[-1] for scope, _item, ids in counters}
    assert identities == {"codes-per-user": "user:arn:aws:iam::1:user/p",
                          "codes-per-device": "device:" + ("arn:x" + "y" * 500)[:256]}


def test_a_malformed_or_reused_code_is_not_counted(limited_app, make_user):
    person = Person(limited_app.test_client(), make_user("typist"))
    person.sign_in()
    person.start_enrollment()
    for _ in range(first_number(code_budgets.DEVICE_CODES) + 2):
        # Refused by the form before anything is counted or sent: typos are not guesses.
        assert_page(person.verify("12345", "abcdef"), 400, "The first code must be the 6 digits")
    assert_page(person.verify(), 200, "Your MFA device is enabled.")  # the real codes still go through


def test_admin_actions_are_limited_per_admin_not_per_address(moto, tmp_path, make_user, clock):
    app = make_test_app(tmp_path, RATELIMIT_ENABLED=True, ADMIN_USERS=["boss", "deputy"])
    boss = Person(app.test_client(), make_user("boss"))
    deputy = Person(app.test_client(), make_user("deputy"))
    boss.enroll_fully()  # admins holding an MFA session
    deputy.enroll_fully()
    allowance = first_number(limits.ADMIN)
    for n in range(allowance):
        # Half from another address, and the audit export draws on the same budget as the user export.
        url = "/admin/export" if n % 2 else "/admin/audit/export"
        page = boss.client.post(url, environ_overrides={"REMOTE_ADDR": "192.0.2.7"} if n % 3 else {})
        if n % 2:  # the user list: no refresh yet, so back to the dashboard that offers one
            assert_redirect(page, "/admin/")
        else:
            assert page.get_data(as_text=True).startswith("at,action,outcome,")  # the audit CSV
    clock.shift(1)  # those clicks took a moment: the minute's window is no longer whole
    assert_rate_limited(boss.client.post("/admin/export", environ_overrides={"REMOTE_ADDR": "198.51.100.9"}))
    # Another admin from the same address still has a whole budget.
    assert_redirect(deputy.client.post("/admin/export"), "/admin/")
    assert [(e.subject, e.detail) for e in rate_limited_events(app)] == [("boss", '{"reason": "admin.export"}')]


def test_every_declared_limit_counts_posts_only():
    """app.limits exempts every GET up front; that is only sound while no limit names another method."""
    import ast
    from pathlib import Path

    declared = []
    for source in Path("app").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in {"limit", "shared_limit"}
                    and getattr(node.func.value, "id", None) == "limiter"):
                methods = next((k.value for k in node.keywords if k.arg == "methods"), None)
                declared.append((str(source), ast.literal_eval(methods) if methods else None))
    # The admin budget; sign-ins count in limit_sign_ins and codes in codes.submit, both on POSTs only.
    assert len(declared) >= 1
    assert {methods == ["POST"] for _, methods in declared} == {True}, declared


def test_the_hourly_budget_holds_across_minutes(moto, tmp_path):
    app = make_test_app(tmp_path, RATELIMIT_ENABLED=True)
    per_minute, per_hour = sorted(signin.rules(app.config, signin.PER_KEY), key=lambda item: item.get_expiry())
    full_minutes, rest = divmod(per_hour.amount, per_minute.amount)
    assert rest == 0  # whole minutes of failures fill the hour exactly
    browser = app.test_client()
    start = time.time()
    # The one clock, frozen by time-machine and moved a minute (and a second) at a time.
    with time_machine.travel(start, tick=False) as clock:
        for minute in range(full_minutes):  # a patient guesser: a minute's allowance, then wait out the minute
            clock.move_to(start + 61 * minute)
            statuses = [failed_sign_in(browser, BAD_KEYS["access_key_id"]).status_code
                        for _ in range(per_minute.amount)]
            assert statuses == [400] * per_minute.amount
        clock.move_to(start + 61 * full_minutes)
        page = failed_sign_in(browser, BAD_KEYS["access_key_id"])
    seconds = int(page.headers["Retry-After"])
    # The hour started with the first failure: what is left of it is the wait, not a minute.
    left = per_hour.get_expiry() - 61 * full_minutes
    assert page.status_code == 429 and left - 2 <= seconds <= left
    assert "too many failed sign-ins for this access key" in page.get_data(as_text=True)


def test_aws_not_answering_is_not_a_failed_sign_in(limited_app, make_user, monkeypatch):
    from app.errors import AwsUnavailable
    from app.services import identity

    person = Person(limited_app.test_client(), make_user("patient"))
    real_identify, aws_down = identity.identify, {"now": True}

    def identify(keys, settings):
        """AWS times out while `aws_down` says so."""
        if aws_down["now"]:
            raise AwsUnavailable()
        return real_identify(keys, settings)

    monkeypatch.setattr(identity, "identify", identify)
    for _ in range(allowance(limited_app, signin.PER_KEY) + 1):
        assert_page(person.sign_in(follow=False), 503, AWS_AWAY)
    aws_down["now"] = False
    assert_redirect(person.sign_in(follow=False), "/")


def test_an_ipv6_client_is_counted_per_64_not_per_address(moto, tmp_path):
    app = make_test_app(tmp_path, RATELIMIT_ENABLED=True, SIGN_IN_LIMIT_PER_ADDRESS="3 per minute")
    browser = app.test_client()
    # A host picks any address in its /64: each attempt from a new one still spends one budget.
    hosts = [f"2001:db8:1:2::{n:x}" for n in range(1, allowance(app, signin.PER_ADDRESS) + 2)]
    answers = [failed_sign_in(browser, f"AKIA{n:016d}", host) for n, host in enumerate(hosts)]
    assert [answer.status_code for answer in answers] == [400] * (len(hosts) - 1) + [429]
    assert_sign_in_paused(answers[-1], "from your network")
    assert_page(failed_sign_in(browser, "AKIA" + "Q" * 16, "2001:db8:1:3::1"), 400, KEY_SHAPE)  # the next /64
    assert signin.network_identity("::ffff:192.0.2.8") == "ip:192.0.2.8"  # IPv4 seen through a dual-stack socket


def test_a_refusal_raised_to_the_error_page_counts_too(limited_app, make_user, monkeypatch):
    from app.errors import AwsAccessDenied
    from app.services import identity

    def denied(_keys, _settings):
        raise AwsAccessDenied("sts:GetCallerIdentity")

    monkeypatch.setattr(identity, "identify", denied)
    person = Person(limited_app.test_client(), make_user("denied"))
    per_key = allowance(limited_app, signin.PER_KEY)
    answers = [person.sign_in(follow=False) for _ in range(per_key + 1)]
    assert [answer.status_code for answer in answers] == [403] * per_key + [429]
    assert_page(answers[-2], 403, "AWS denied this action")
    assert_page(answers[-1], 429, "Too many failed sign-ins")

"""Reminder e-mails: confirmation page, a real local SMTP server, the cron command, and the message itself."""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from admin_helpers import ADMIN, refresh, with_mfa
from aiosmtpd.controller import Controller
from events_helpers import SECRET, Receiver
from pages import assert_redirect

from app import tasks
from app.extensions import db
from app.models import AuditEvent, Reminder, ReportSnapshot
from app.services import reminder_mail, reminders
from bench._util import free_port
from conftest import make_test_app

pytest_plugins = ["admin_fixtures"]

PORTAL = "https://mfa.example.com/"


class Mailbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted"

    def wait_for(self, count: int, timeout: float = 20.0) -> list:
        """Wait until `count` messages arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} messages, got {len(self.messages)}")


@pytest.fixture
def smtp():
    """A real SMTP server on 127.0.0.1."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    mailbox.url = f"smtp://127.0.0.1:{controller.port}"
    yield mailbox
    controller.stop()


@pytest.fixture(params=["sqlite", "postgres+redis"])
def stores(request):
    """SQLite with the SQLite queue; PostgreSQL with the Redis queue."""
    if request.param == "sqlite":
        return {}
    return {"SQLALCHEMY_DATABASE_URI": request.getfixturevalue("pg_url"),
            "REDIS_URL": request.getfixturevalue("redis_url")}


def mail_app(tmp_path, smtp_url, **overrides):
    """The portal set up for reminders by IAM tag, with an admin named."""
    settings = {"ADMIN_USERS": [ADMIN], "SMTP_URL": smtp_url, "MAIL_FROM": "it-security@example.com",
                "PORTAL_URL": PORTAL, "REMINDER_EMAIL": "tag:email"}
    return make_test_app(tmp_path, **{**settings, **overrides})


@pytest.fixture
def running():
    """In-process consumers, stopped after the test."""
    started = []

    def start(app):
        started.append((app, tasks.InProcessConsumer(app, workers=2).start()))

    yield start
    for app, consumer in started:
        consumer.stop()
        with app.app_context():
            db.engine.dispose()


def arrange(app, iam, make_user):
    """Three people without MFA (two tagged with an address), one of them reminded lately; an admin refreshes."""
    users = {name: make_user(name) for name in ("ann", "bob", "cho")}
    iam.tag_user(UserName="ann", Tags=[{"Key": "email", "Value": "ann@example.com"}])
    iam.tag_user(UserName="bob", Tags=[{"Key": "email", "Value": "bob@example.com"}])
    make_user("dan")
    iam.tag_user(UserName="dan", Tags=[{"Key": "email", "Value": "dan@example.com"}])
    admin = with_mfa(app, iam, make_user(ADMIN))
    refresh(admin)
    with app.app_context():
        db.session.add(Reminder(batch="b" * 32, user_name="dan", finding="IAM.19", address="dan@example.com",
                                status="sent", sent_at=datetime.now(UTC) - timedelta(days=2),
                                created_at=datetime.now(UTC) - timedelta(days=2)))
        db.session.commit()
    return admin, users


def test_the_dashboard_sends_reminders_after_saying_who_gets_them(moto, tmp_path, iam, make_user, smtp, running,
                                                                  stores):
    receiver = Receiver()
    try:
        app = mail_app(tmp_path, smtp.url, WEBHOOK_URLS=[receiver.url], WEBHOOK_SECRET=SECRET, **stores)
        admin, users = arrange(app, iam, make_user)
        running(app)
        dashboard = admin.client.get("/admin/?finding=IAM.19").get_data(as_text=True)
        assert re.search(r'id="send-reminders" href="/admin/reminders\?finding=IAM.19"', dashboard)
        not_covered = admin.client.get("/admin/?finding=policy.not-covered").get_data(as_text=True)
        assert 'id="send-reminders"' not in not_covered  # nothing the person could fix themselves
        page = admin.client.get("/admin/reminders?finding=IAM.19")
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert re.search(r'id="reminder-count"><strong>2</strong> people', html)
        assert re.search(r'id="skipped-no-address"[^>]*>cho<', html)
        assert re.search(r'id="skipped-recent"[^>]*>dan<', html)
        assert smtp.messages == []  # the page itself sends nothing
        answer = admin.client.post("/admin/reminders", data={"finding": "IAM.19", "deadline": "2099-01-31"})
        assert_redirect(answer, "/admin/")
        messages = smtp.wait_for(2)
        (batch_event,) = receiver.wait_for(1)
        assert sorted(m["To"] for m in messages) == ["ann@example.com", "bob@example.com"]
        for message in messages:
            text = message.get_body(("plain",)).get_content()
            html_part = message.get_body(("html",)).get_content()
            name = message["To"].split("@")[0]
            assert f"Your AWS user {name} has no MFA device yet." in text
            assert f"AWS ユーザー {name} には、まだ MFA デバイスが設定されていません。" in text
            assert "2099-01-31" in text and "2099-01-31" in html_part
            assert set(re.findall(r"https?://[^\s<>\"]+", text + html_part)) == {PORTAL}
            assert "<img" not in html_part and users[name].secret_access_key not in message.as_string()
            assert message["From"] == "it-security@example.com"
        assert batch_event["type"] == "reminders.sent" and batch_event["data"]["rows"] == 2
        assert batch_event["data"]["filter"] == "IAM.19"
        with app.app_context():
            deadline = time.monotonic() + 10  # the message arrives a moment before its audit record is written
            while len(tasks_done := db.session.scalars(db.select(AuditEvent).where(
                    AuditEvent.action == "reminder_sent")).all()) < 2 and time.monotonic() < deadline:
                db.session.rollback()
                time.sleep(0.05)
            assert sorted((e.subject, e.outcome, e.detail) for e in tasks_done) == [
                ("ann", "success", '{"finding": "IAM.19"}'), ("bob", "success", '{"finding": "IAM.19"}')]
            assert "@example.com" not in "".join(str(e.detail) for e in db.session.scalars(db.select(AuditEvent)))
        again = admin.client.get("/admin/reminders?finding=IAM.19").get_data(as_text=True)
        assert re.search(r'id="reminder-count"><strong>0</strong>', again)  # all reminded within the interval
    finally:
        receiver.close()


def test_reminders_need_settings_and_a_known_finding(moto, tmp_path, iam, make_user, smtp):
    app = mail_app(tmp_path, smtp.url)
    admin, _users = arrange(app, iam, make_user)
    unknown = admin.client.get("/admin/reminders?finding=IAM.99")
    assert unknown.status_code == 409 and "There is no reminder for IAM.99." in unknown.get_data(as_text=True)
    past = admin.client.post("/admin/reminders", data={"finding": "IAM.19", "deadline": "2001-01-01"})
    assert past.status_code == 409 and "The deadline is in the past." in past.get_data(as_text=True)
    app.config["SMTP_URL"] = None
    page = admin.client.get("/admin/reminders?finding=IAM.19")
    assert page.status_code == 409 and "SMTP_URL not set" in page.get_data(as_text=True)


def test_cron_refuses_a_stale_snapshot_and_sends_from_a_fresh_one(moto, tmp_path, iam, make_user, smtp, running):
    app = mail_app(tmp_path, smtp.url, REMINDER_EMAIL="{username}@corp.example", REMINDER_LANGUAGE="ja")
    arrange(app, iam, make_user)
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["reminders", "send", "--finding", "IAM.19", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "IAM.19: 3 to remind, 0 skipped without an address, 1 skipped" in dry.output
    assert "would remind ann <ann@corp.example>" in dry.output
    with app.app_context():
        db.session.execute(db.update(ReportSnapshot).values(taken_at=datetime.now(UTC) - timedelta(hours=25)))
        db.session.commit()
    stale = runner.invoke(args=["reminders", "send", "--finding", "IAM.19"])
    assert stale.exit_code == 1 and "more than 24 hours ago" in stale.output
    with app.app_context():
        db.session.execute(db.update(ReportSnapshot).values(taken_at=datetime.now(UTC) - timedelta(hours=1)))
        db.session.commit()
    sent = runner.invoke(args=["reminders", "send", "--finding", "IAM.19", "--deadline", "2099-01-31"])
    assert sent.exit_code == 0 and "3 reminders queued" in sent.output
    running(app)
    messages = smtp.wait_for(3)
    text = messages[0].get_body(("plain",)).get_content()
    assert "2099-01-31 までに対応してください。" in text and "Your AWS user" not in text  # Japanese only
    assert messages[0].get_body(("html",)).get_content().count('lang="ja"') == 2


def test_an_smtp_server_that_is_down_gets_the_reminder_later(moto, tmp_path, iam, make_user, smtp):
    port = free_port()
    app = mail_app(tmp_path, f"smtp://127.0.0.1:{port}", REMINDER_LANGUAGE="en")
    admin, _users = arrange(app, iam, make_user)
    with app.app_context(), app.test_request_context():
        found = reminders.plan(reminders.fresh_snapshot(), "IAM.19", app.config)
        ids = reminders.queue(found, None, reminders.audit.Actor())
        assert [reminders.send(i, app.config) for i in ids] == ["retry", "retry"]
        assert reminders.due() == []  # each waits for its retry time
        app.config["SMTP_URL"] = smtp.url
        db.session.execute(db.update(Reminder).where(Reminder.status == "queued")
                           .values(claimed_until=datetime.now(UTC) - timedelta(seconds=1)))
        db.session.commit()
        assert reminders.due() == ids
        assert [reminders.send(i, app.config) for i in ids] == ["sent", "sent"]
        assert [reminders.send(i, app.config) for i in ids] == ["skipped", "skipped"]  # never twice
    assert len(smtp.messages) == 2


def test_the_message_never_asks_for_secrets_and_links_only_to_the_portal(moto, tmp_path):
    app = make_test_app(tmp_path, PORTAL_URL=PORTAL, MAIL_FROM="it@example.com", REMINDER_LANGUAGE="both")
    row = Reminder(id=7, batch="c" * 32, user_name="erin", finding="IAM.3", address="erin@example.com",
                   deadline=None)
    with app.app_context():
        message = reminder_mail.compose(row, app.config)
    text = message.get_body(("plain",)).get_content()
    assert message["Subject"] == "Action needed on your AWS user erin / AWS ユーザー erin について対応をお願いします"
    assert message["Message-ID"] == f"<reminder.7.{'c' * 32}@mfa.example.com>"
    assert "never asks for access keys, passwords or MFA codes" in text
    assert "アクセスキー、パスワード、MFA コードを尋ねることはありません" in text
    assert "Please do this by" not in text  # no deadline given
    assert set(re.findall(r"https?://\S+", text)) == {PORTAL}


def test_smtp_urls_choose_the_connection(monkeypatch):
    seen = []

    class Fake:
        def __init__(self, host, port, timeout, context=None):
            seen.append((type(self).__name__, host, port))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def starttls(self, context):
            seen.append("starttls")

        def login(self, user, password):
            seen.append(("login", user, password))

        def send_message(self, message):
            seen.append("sent")

    class SMTP(Fake):
        pass

    class SMTP_SSL(Fake):  # noqa: N801 - smtplib's name
        pass

    monkeypatch.setattr(reminder_mail.smtplib, "SMTP", SMTP)
    monkeypatch.setattr(reminder_mail.smtplib, "SMTP_SSL", SMTP_SSL)
    message = email.message.EmailMessage()
    assert reminder_mail.deliver("smtp+starttls://me%40corp:p%3Ass@mail.example.com", message) is None
    assert reminder_mail.deliver("smtps://mail.example.com", message) is None
    assert seen == [("SMTP", "mail.example.com", 587), "starttls", ("login", "me@corp", "p:ss"), "sent",
                    ("SMTP_SSL", "mail.example.com", 465), "sent"]


def test_the_smtp_server_leaves_no_loop_or_thread_behind():
    """aiosmtpd's controller (the smtp fixture's) runs its own loop in a thread of its own; stopping ends both."""
    before = set(threading.enumerate())
    controller = Controller(Mailbox(), hostname="127.0.0.1", port=free_port())
    controller.start()
    assert set(threading.enumerate()) - before and controller.loop.is_running()
    controller.stop()
    assert not controller.loop.is_running()
    assert not set(threading.enumerate()) - before

"""Events to other systems: each audited change arrives once at a real receiver, signed, retried, never a secret."""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from datetime import timedelta

import pytest
from admin_helpers import ADMIN, give_device, with_mfa
from events_helpers import SECRET, Receiver, record_event, settle
from own_helpers import fail_call, pem, rsa_public
from pages import assert_page, assert_redirect

from app import aws, tasks
from app.errors import AwsUnavailable
from app.extensions import db
from app.models import AuditEvent, EventOutbox
from app.services import events
from bench._util import free_port
from conftest import Clock, Person, code, make_test_app

PASSWORDS = ("First-Console-Pass-1", "Second-Console-Pass-2")


@pytest.fixture
def receiver():
    """A receiver that verifies signatures with the standardwebhooks library."""
    found = Receiver()
    yield found
    found.close()


@pytest.fixture(params=["sqlite", "postgres+redis"])
def stores(request, tmp_path):
    """SQLite with the SQLite queue; PostgreSQL with the Redis queue."""
    if request.param == "sqlite":
        return {}
    return {"SQLALCHEMY_DATABASE_URI": request.getfixturevalue("pg_url"),
            "REDIS_URL": request.getfixturevalue("redis_url")}


def hooked_app(tmp_path, receiver_url, **overrides):
    """The portal sending events to one receiver, with an admin named."""
    return make_test_app(tmp_path, WEBHOOK_URLS=[receiver_url], WEBHOOK_SECRET=SECRET, ADMIN_USERS=[ADMIN],
                         **overrides)


@pytest.fixture
def consumer():
    """Start Huey's consumer inside this process for an app; stopped after the test."""
    started = []

    def start(app, workers: int = 2):
        running = tasks.InProcessConsumer(app, workers=workers).start()
        started.append((app, running))
        return running

    yield start
    for app, running in started:
        running.stop()
        with app.app_context():
            db.engine.dispose()


def forms(secret: str) -> set[str]:
    """A secret and overlapping 16-character pieces of it."""
    return {secret} | {secret[i:i + 16] for i in range(0, max(1, len(secret) - 15), 8)}


def test_each_change_arrives_once_signed_and_without_secrets(moto, tmp_path, make_user, receiver, consumer,
                                                            stores, caplog):
    caplog.set_level(logging.DEBUG)
    app = hooked_app(tmp_path, receiver.url, **stores)
    consumer(app)
    user = make_user("new.hire")
    person = Person(app.test_client(), user)
    client = person.client
    person.enroll_fully()
    seeds = [person.seed]
    serial = f"arn:aws:iam::123456789012:mfa/{user.name}"
    Clock.advance(2)
    # A new phone: the old device goes, a new one is enabled (not a first enrollment).
    page = client.post("/device/replace", data={"device": serial, "code": code(person.seed)}, follow_redirects=True)
    person.seed = re.search(r'<code id="manual-key">([^<]+)</code>', page.get_data(as_text=True)).group(1).replace(
        " ", "")
    seeds.append(person.seed)
    person.verify()
    person.get_credentials()
    client.post("/security/password", data={"new": PASSWORDS[0], "confirm": PASSWORDS[0]})
    client.post("/security/password", data={"current": PASSWORDS[0], "new": PASSWORDS[1], "confirm": PASSWORDS[1]})
    client.post("/security/password/remove", data={})
    page = client.post("/security/keys/rotate", data={"profile": "long-term", **person.code_here()},
                       follow_redirects=True)
    new_secret = re.search(r'id="new-key-secret">([^<]+)<', page.get_data(as_text=True)).group(1)
    client.post("/security/keys/rotate/finish")
    # Deleting the key signed in with, and removing the last device, take a code typed on their page.
    client.post(f"/security/keys/{user.access_key_id}/delete", data=person.code_here())
    client.post("/security/ssh", data={"body": rsa_public()})
    ssh_id = moto_iam().list_ssh_public_keys(UserName=user.name)["SSHPublicKeys"][0]["SSHPublicKeyId"]
    client.post(f"/security/ssh/{ssh_id}/delete", data={})
    client.post("/security/certificates", data={"body": pem()})
    cert_id = moto_iam().list_signing_certificates(UserName=user.name)["Certificates"][0]["CertificateId"]
    client.post(f"/security/certificates/{cert_id}/delete", data={})
    serial = f"arn:aws:iam::123456789012:mfa/{user.name}"
    Clock.advance(1)
    person.get_credentials(token=code(person.seed, 0))  # a fresh code: removing a device asks for a recent one
    client.post(f"/security/devices/remove/{serial}", data=person.code_here())

    expected = Counter({"enrollment.first": 1, "console_password.set": 1, "console_password.changed": 1,
                        "console_password.removed": 1, "access_key.created": 1, "access_key.rotated": 1,
                        "access_key.deactivated": 1, "access_key.deleted": 1, "ssh_key.uploaded": 1,
                        "ssh_key.deleted": 1, "signing_certificate.uploaded": 1, "signing_certificate.deleted": 1,
                        "device.removed": 2, "device.enabled": 1})
    receiver.wait_for(sum(expected.values()))
    settle(app)
    assert Counter(receiver.types()) == expected
    assert receiver.rejected == []
    for message in receiver.accepted:
        assert message["data"]["user"] == user.name and message["data"]["account"] == "123456789012"
        assert message["text"].startswith(user.name) and message["text"].endswith(".")
        assert message["timestamp"] and message["data"]["source_ip"] == "127.0.0.1"
    by_type = {message["type"]: message for message in receiver.accepted}
    assert by_type["enrollment.first"]["data"]["device"] == serial
    assert by_type["access_key.deleted"]["data"]["key_id"] == user.access_key_id
    assert by_type["ssh_key.uploaded"]["data"]["ssh_key_id"] == ssh_id
    assert by_type["signing_certificate.deleted"]["data"]["cert_id"] == cert_id
    assert by_type["device.removed"]["text"] == "new.hire's MFA device was removed."
    assert by_type["device.enabled"]["text"] == "new.hire enabled an MFA device."
    # Never a secret: not in a body, a header or a log line.
    secret_forms = set().union(forms(user.secret_access_key), forms(new_secret), *(forms(s) for s in seeds),
                               *(forms(p) for p in PASSWORDS), forms(SECRET.removeprefix("whsec_")))
    sent = "\n".join(json.dumps(headers) + body.decode() for headers, body in receiver.requests)
    assert [form for form in secret_forms if form in sent] == []
    assert [form for form in secret_forms if form in caplog.text] == []
    assert "not-a-real-token" not in caplog.text  # the receiver's URL path is a Slack-style secret
    with app.app_context():
        stored = "\n".join(row.body for row in db.session.scalars(db.select(EventOutbox)))
        assert "not-a-real-token" not in stored and "/hooks/" not in stored
        assert db.session.scalar(db.select(db.func.count()).select_from(EventOutbox)) == sum(expected.values())


def moto_iam():
    """An emulator-side IAM client."""
    import boto3

    return boto3.client("iam", region_name="us-east-1")


def test_refused_and_failed_aws_actions_send_nothing(moto, tmp_path, make_user, receiver, consumer, monkeypatch):
    app = hooked_app(tmp_path, receiver.url)
    consumer(app)
    person = Person(app.test_client(), make_user("new.hire"))
    person.sign_in(secret="x" * 40)  # refused sign-in
    person.enroll_fully()
    receiver.wait_for(1)
    client = person.client
    client.post("/security/password", data={"new": PASSWORDS[0], "confirm": PASSWORDS[0]})
    # AWS refuses a wrong current password: a failure, not a change.
    client.post("/security/password", data={"current": "Wrong-Pass-99", "new": PASSWORDS[1], "confirm": PASSWORDS[1]})
    fail_call(monkeypatch, "UploadSSHPublicKey", aws.AwsError("LimitExceeded", "", "UploadSSHPublicKey"))
    client.post("/security/ssh", data={"body": rsa_public()})
    # AWS acted but its answer was lost: "unknown" is not a success either.
    fail_call(monkeypatch, "DeleteLoginProfile", AwsUnavailable(may_have_acted=True), after=True)
    client.post("/security/password/remove", data={})
    settle(app)
    assert receiver.types() == ["enrollment.first", "console_password.set"]
    with app.app_context():
        ended = {tuple(row) for row in db.session.execute(db.select(AuditEvent.action, AuditEvent.outcome))}
    assert {("console_password_changed", "failure"), ("ssh_key_uploaded", "failure"),
            ("console_password_removed", "unknown"), ("sign_in", "failure")} <= ended


def test_admin_reset_names_the_admin(moto, tmp_path, iam, make_user, receiver, consumer, caplog):
    caplog.set_level(logging.DEBUG)
    app = hooked_app(tmp_path, receiver.url)
    consumer(app)
    make_user("lost.phone")
    give_device(iam, "lost.phone")
    admin = with_mfa(app, iam, make_user(ADMIN))
    serial = "arn:aws:iam::123456789012:mfa/lost.phone"
    answer = admin.client.post("/admin/users/lost.phone/reset", data={"serial": serial, "reason": "phone lost"})
    assert_redirect(answer, "/admin/users/lost.phone")
    (message,) = receiver.wait_for(1)
    assert message["type"] == "device.reset"
    assert message["text"] == "lost.phone's MFA device was reset by admin."
    assert message["data"]["actor"].endswith(":user/admin") and message["data"]["device"] == serial
    assert "phone lost" not in json.dumps(message)  # the admin's free-text reason stays in the audit log
    (headers, body), = receiver.requests
    assert admin.user.secret_access_key not in json.dumps(headers) + body.decode() + caplog.text
    assert admin.seed not in json.dumps(headers) + body.decode() + caplog.text


def test_a_burst_of_failed_sign_ins_is_reported_once_per_budget(moto, tmp_path, make_user, receiver, consumer,
                                                                caplog):
    caplog.set_level(logging.DEBUG)
    app = hooked_app(tmp_path, receiver.url, RATELIMIT_ENABLED=True, SIGN_IN_LIMIT_PER_KEY="3 per minute",
                     SIGN_IN_LIMIT_PER_ADDRESS="5 per minute")
    consumer(app)
    user = make_user("target")
    client = app.test_client()
    for _ in range(3):
        client.post("/login", data={"access_key_id": user.access_key_id, "secret_access_key": "w" * 40})
    assert_page(client.post("/login", data={"access_key_id": user.access_key_id, "secret_access_key": "w" * 40}),
                429, "Too many failed sign-ins")
    (per_key,) = receiver.wait_for(1)
    assert per_key["type"] == "sign_in.burst" and per_key["data"]["key_id"] == user.access_key_id
    assert per_key["data"]["budget"] == "sign-in-failures-per-key"
    assert per_key["text"] == (f"Too many failed sign-ins for access key {user.access_key_id}: further attempts are "
                               "refused for a while.")
    for n in range(2):  # other keys from the same network spend its budget: one more event, naming the address
        client.post("/login", data={"access_key_id": f"AKIA{n:016d}", "secret_access_key": "w" * 40})
    receiver.wait_for(2)
    settle(app)
    assert receiver.types() == ["sign_in.burst", "sign_in.burst"]
    per_network = receiver.accepted[1]
    assert per_network["data"]["budget"] == "sign-in-failures-per-address"
    assert per_network["text"].startswith("Too many failed sign-ins from 127.0.0.1")
    sent = "\n".join(json.dumps(headers) + body.decode() for headers, body in receiver.requests)
    assert "w" * 16 not in sent and "w" * 16 not in caplog.text  # the secrets typed never leave the request
    assert user.secret_access_key not in sent + caplog.text


def fast_retries(monkeypatch) -> None:
    """Retry after a fifth of a second instead of seconds to hours."""
    monkeypatch.setattr(events, "RETRY_DELAYS", (0.2,))


def test_a_receiver_answering_500_gets_the_same_id_again(moto, tmp_path, monkeypatch, consumer, clock):
    clock.run()  # the consumer's retries wait real seconds
    fast_retries(monkeypatch)
    receiver = Receiver(failures=2)
    try:
        app = hooked_app(tmp_path, receiver.url)
        consumer(app)
        key = record_event(app)
        (message,) = receiver.wait_for(1)
        settle(app)
        assert [headers["webhook-id"] for headers, _body in receiver.requests] == [key] * 3
        assert message["type"] == "access_key.deleted" and len(receiver.accepted) == 1
        with app.app_context():
            row = db.session.scalars(db.select(EventOutbox)).one()
            assert (row.attempts, row.last_error, row.delivered_at is not None) == (3, None, True)
    finally:
        receiver.close()


def test_a_receiver_that_is_down_gets_it_once_it_is_up(moto, tmp_path, monkeypatch, consumer, stores, clock):
    clock.run()  # the consumer's retries wait real seconds
    fast_retries(monkeypatch)
    port = free_port()  # nothing listens there yet: connections are refused
    app = hooked_app(tmp_path, f"http://127.0.0.1:{port}/hook", **stores)
    consumer(app)
    key = record_event(app)
    with app.app_context():
        deadline = __import__("time").monotonic() + 10
        while db.session.scalar(db.select(EventOutbox.attempts)) < 2 and __import__("time").monotonic() < deadline:
            db.session.rollback()
            __import__("time").sleep(0.05)
        assert db.session.scalar(db.select(EventOutbox.last_error)) == "connection refused"
    receiver = Receiver(port=port)
    try:
        (message,) = receiver.wait_for(1)
        assert message["id"] == key
    finally:
        receiver.close()


def test_a_final_failure_is_audited_and_counted(moto, tmp_path, monkeypatch, consumer, clock):
    clock.run()  # the consumer's retries wait real seconds
    # Give up only once two attempts were made, not after a fixed time: a busy machine may spend that on one.
    fast_retries(monkeypatch)
    receiver = Receiver(failures=1000)
    try:
        app = hooked_app(tmp_path, receiver.url, METRICS=True)
        consumer(app)
        record_event(app, action="console_password_set")
        receiver.wait_for_attempts(2)
        monkeypatch.setattr(events, "GIVE_UP_AFTER", timedelta(0))  # the next failed attempt is the last
        with app.app_context():
            deadline = time.monotonic() + 30
            failed = None
            while failed is None and time.monotonic() < deadline:
                db.session.rollback()
                failed = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "webhook_failed")).first()
                time.sleep(0.05)
            assert failed is not None, "the final failure was never audited"
            assert db.session.scalar(db.select(EventOutbox.failed_at)) is not None
        assert failed.outcome == "failure"
        assert json.loads(failed.detail) == {"event": "console_password.set", "reason": "http 500"}
        assert len(receiver.requests) >= 2
        scraped = app.test_client().get("/metrics").get_data(as_text=True)
        assert re.search(r'mfa_portal_webhook_deliveries_total\{outcome="failed"\} [1-9]', scraped)
        assert re.search(r'mfa_portal_webhook_deliveries_total\{outcome="retry"\} [1-9]', scraped)
    finally:
        receiver.close()


def test_an_event_whose_hand_over_failed_is_delivered_by_the_sweep(moto, tmp_path, monkeypatch, receiver, consumer):
    app = hooked_app(tmp_path, receiver.url)

    def queue_away(_app=None):
        raise ConnectionError("the queue is away")

    with monkeypatch.context() as patch:
        patch.setattr(tasks, "queue", queue_away)
        key = record_event(app)  # the audit record and its outbox row are committed; the hand-over fails
    with app.app_context():
        assert db.session.scalar(db.select(EventOutbox.event_id)) == key
        assert tasks.sweep(late=timedelta(0)) == 1  # what the consumer does when it starts
    consumer(app)
    (message,) = receiver.wait_for(1)
    assert message["id"] == key


def test_the_outcome_and_its_event_share_one_transaction(moto, tmp_path, monkeypatch, receiver, consumer):
    """An outcome spooled while the database was away brings its event along when it lands, exactly once."""
    from sqlalchemy.exc import OperationalError

    from app.services import audit, audit_spool

    app = hooked_app(tmp_path, receiver.url)
    real_insert = audit_spool.insert
    with monkeypatch.context() as patch:
        def database_away(rows, spooled=False):
            raise OperationalError("INSERT", {}, Exception("database is away"))

        patch.setattr(audit_spool, "insert", database_away)
        key = record_event(app)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(EventOutbox)) == 0
    assert audit_spool.insert is real_insert
    consumer(app)
    record_event(app, action="ssh_key_deleted")  # the next write lands the spool first, then its own record
    messages = receiver.wait_for(2)
    settle(app)
    # Each event arrives exactly once; the queue promises no order between two events (and under the frozen
    # clock both rows carry the same time).
    assert [m["id"] for m in messages].count(key) == 1 and len(receiver.accepted) == 2
    with app.app_context():
        audit.flush_spool()  # flushed twice: nothing lands twice
        assert db.session.scalar(db.select(db.func.count()).select_from(EventOutbox)) == 2


def test_every_event_type_has_a_sentence_and_comes_from_an_action():
    seen = set()
    for kind in events.EVENTS:
        row = {"action": kind.action.value, "outcome": kind.outcome.value, "first_enrollment": kind.type ==
               "enrollment.first", "detail": json.dumps({"status": "Inactive" if "deactivated" in kind.type else
                                                         "Active", "filter": "IAM.19", "rows": 3,
                                                         "budget": "sign-in-failures-per-key"}),
               "subject": "alice", "actor_arn": "arn:aws:iam::123456789012:user/alice", "source_ip": "192.0.2.1",
               "at": "2026-12-07T00:00:00+00:00", "event_key": "k"}
        found = events.kind_for(row)
        assert found is not None
        body = events.body_for(row, found)
        assert "{" not in body["text"] and body["text"].endswith(".")
        seen.add(found.type)
    assert len(seen) == len({kind.type for kind in events.EVENTS})


def test_signatures_follow_standard_webhooks():
    from standardwebhooks.webhooks import Webhook

    body = b'{"type":"x"}'
    headers = events.headers_for(SECRET, "msg_1", body)
    assert Webhook(SECRET).verify(body, headers) == {"type": "x"}
    assert re.fullmatch(r"v1,[A-Za-z0-9+/]+=*", headers["webhook-signature"])


@pytest.mark.parametrize(("name", "value", "words"), [
    ("WEBHOOK_URLS", "http://hooks.example.com/x", "WEBHOOK_URLS: http://hooks.example.com/... must use https://"),
    ("WEBHOOK_URLS", "https://ok.example.com/a ftp://files.example.com/b", "WEBHOOK_URLS: ftp://files.example.com/..."),
    ("WEBHOOK_SECRET", "not-a-secret", "WEBHOOK_SECRET: write it as whsec_"),
    ("WEBHOOK_SECRET", "whsec_c2hvcnQ=", "WEBHOOK_SECRET: write it as whsec_"),
    ("SMTP_URL", "mail.example.com:25", "SMTP_URL: write it as smtp://"),
    ("REMINDER_EMAIL", "someone@example.com", "REMINDER_EMAIL: write a pattern"),
    ("REMINDER_LANGUAGE", "fr", "REMINDER_LANGUAGE: 'fr' is not one of both, en, ja"),
    ("PORTAL_URL", "mfa.example.com", "PORTAL_URL: write the address"),
])
def test_bad_event_and_mail_settings_stop_start_up_naming_the_variable(monkeypatch, name, value, words):
    from app.config import ConfigurationError, from_environment

    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as refused:
        from_environment()
    assert str(refused.value).startswith(words)
    assert "/x" not in str(refused.value)  # a webhook URL's path may be its secret: never repeated


def test_event_settings_are_read_from_the_environment(monkeypatch):
    from app.config import from_environment

    monkeypatch.setenv("WEBHOOK_URLS", "https://hooks.slack.com/services/T/B/x\n  http://127.0.0.1:9000/hook")
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("QUEUE_CONSUMER", "0")
    config = from_environment()
    assert config["WEBHOOK_URLS"] == ["https://hooks.slack.com/services/T/B/x", "http://127.0.0.1:9000/hook"]
    assert (config["WEBHOOK_SECRET"], config["QUEUE_CONSUMER"], config["REMINDER_INTERVAL_DAYS"],
            config["REMINDER_LANGUAGE"]) == (SECRET, False, 7, "both")

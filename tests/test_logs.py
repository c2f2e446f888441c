"""Logs: JSON lines with the request's fields, a request id on every response, the same id in its audit rows."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from sqlalchemy.exc import OperationalError

from app.config import ConfigurationError, from_environment
from app.extensions import db
from app.logs import json_formatter
from app.models import AuditEvent
from app.services import audit, audit_spool
from conftest import Person, make_test_app

HEX_ID = re.compile(r"^[0-9a-f]{32}$")
REQUIRED = {"time", "level", "logger", "message"}


@pytest.fixture
def json_log():
    """Every record any logger writes, formatted as production formats it: a list of parsed objects."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)

    def lines() -> list[dict]:
        text = out.getvalue()
        assert text.endswith("\n")
        parsed = [json.loads(line) for line in text.splitlines()]  # one JSON object per line, or this fails
        for record in parsed:
            assert REQUIRED <= set(record), record
        return parsed

    yield lines
    root.removeHandler(handler)
    root.setLevel(old_level)


def access(lines: list[dict]) -> list[dict]:
    """The access records among the lines."""
    return [line for line in lines if line["logger"] == "app.access"]


def json_app(tmp_path, **overrides):
    """The portal with JSON logs at DEBUG."""
    return make_test_app(tmp_path, LOG_FORMAT="json", LOG_LEVEL="DEBUG", **overrides)


def test_every_response_carries_a_fresh_request_id(client):
    ids = [client.get(path).headers["X-Request-ID"] for path in ("/login", "/healthz", "/no-such-page",
                                                                 "/static/no-such-file.css")]
    assert all(HEX_ID.match(value) for value in ids)
    assert len(set(ids)) == 4


@pytest.mark.parametrize(("hops", "incoming", "kept"), [
    (0, "edge-7f3a-42", False),  # no trusted proxy: anyone could have sent it
    (1, "edge-7f3a-42", True),
    (1, "A" * 64, True),
    (1, "A" * 65, False),
    (1, "edge 7f3a", False),
    (1, "id\r\nX-Forged: 1", False),
    (1, "", False),
    (1, "caf\u00e9-1", False),
])
def test_an_incoming_id_is_kept_only_from_a_trusted_proxy_and_only_if_it_looks_like_one(
        moto, tmp_path, hops, incoming, kept):
    app = make_test_app(tmp_path, PROXY_HOPS=hops)
    # As the server hands it over (a test client refuses to send a newline in a header at all).
    response = app.test_client().get("/healthz", environ_overrides={"HTTP_X_REQUEST_ID": incoming})
    assert (response.headers["X-Request-ID"] == incoming) is kept
    assert response.headers.getlist("X-Request-ID") == [response.headers["X-Request-ID"]]
    if not kept:
        assert HEX_ID.match(response.headers["X-Request-ID"])


def test_access_records_carry_the_request_and_never_the_query(moto, tmp_path, make_user, json_log):
    app = json_app(tmp_path, PROXY_HOPS=1, PROPAGATE_EXCEPTIONS=False)

    @app.route("/boom")
    def boom():
        raise RuntimeError("a bug")

    client = app.test_client()
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    person = Person(client, make_user("new.hire"))
    page = client.get("/login?secret_access_key=leak-me-not", headers=forwarded)
    signed_in = client.post("/login", headers=forwarded, data={
        "access_key_id": person.user.access_key_id, "secret_access_key": person.user.secret_access_key})
    static = client.get("/static/css/portal.css", headers=forwarded)
    broken = client.get("/boom", headers=forwarded)
    missing = client.get("/nope", headers=forwarded)
    records = access(json_log())
    assert [(r["method"], r["path"], r["status"]) for r in records] == [
        ("GET", "/login", 200), ("POST", "/login", signed_in.status_code), ("GET", "/static/css/portal.css", 200),
        ("GET", "/boom", 500), ("GET", "/nope", 404)]
    assert [r["request_id"] for r in records] == [
        r.headers["X-Request-ID"] for r in (page, signed_in, static, broken, missing)]
    assert [r.get("endpoint") for r in records] == ["auth.login", "auth.login", "static", "boom", None]
    assert {r["client"] for r in records} == {"203.0.113.9"}  # as PROXY_HOPS=1 resolves it
    assert all(isinstance(r["duration_ms"], float) and r["duration_ms"] >= 0 for r in records)
    assert "actor_arn" not in records[0]
    assert records[1]["actor_arn"] == f"arn:aws:iam::123456789012:user/{person.user.name}"
    assert static.status_code == 200 and broken.status_code == 500
    assert "leak-me-not" not in json.dumps(json_log())


def test_every_line_of_a_request_carries_its_id(moto, tmp_path, make_user, json_log):
    app = json_app(tmp_path)
    person = Person(app.test_client(), make_user("new.hire"))
    response = person.sign_in(follow=False)
    request_id = response.headers["X-Request-ID"]
    mine = [line for line in json_log() if line.get("request_id") == request_id]
    loggers = {line["logger"] for line in mine}
    # The AWS calls, the audit record and the access record of the sign-in all name it.
    assert {"app.aws", "app.services.audit", "app.access"} <= loggers, loggers
    outside = [line for line in json_log() if "request_id" not in line]
    assert not [line for line in outside if line["logger"].startswith("app.")], outside


def test_audit_rows_name_the_request_that_wrote_them(app, person):
    response = person.sign_in(follow=False)
    with app.app_context():
        rows = db.session.execute(db.select(AuditEvent.action, AuditEvent.request_id)).all()
    assert rows == [("sign_in", response.headers["X-Request-ID"])]


def test_a_spooled_record_keeps_its_request_id_and_old_spool_lines_still_land(app, person, monkeypatch):
    real_insert = audit_spool.insert

    def database_away(rows, spooled=False):
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    monkeypatch.setattr(audit_spool, "insert", database_away)
    first = person.sign_in(follow=False)
    monkeypatch.setattr(audit_spool, "insert", real_insert)
    with app.app_context():
        spool = audit_spool.spool_path()
        with open(spool) as held:
            assert json.loads(held.read())["request_id"] == first.headers["X-Request-ID"]
        # A line spooled by the version before request ids: no such key.
        old = audit._row(audit.Action.SIGN_OUT, audit.Actor(user_name="old.timer"), audit.Outcome.SUCCESS, None,
                         False, None, {})
        del old["request_id"]
        with open(spool, "a") as held:
            held.write(json.dumps(old) + "\n")
    second = person.client.post("/logout", follow_redirects=False)
    with app.app_context():
        rows = db.session.execute(db.select(AuditEvent.action, AuditEvent.subject, AuditEvent.request_id)
                                  .order_by(AuditEvent.id)).all()
    assert rows[:2] == [("sign_in", "new.hire", first.headers["X-Request-ID"]), ("sign_out", "old.timer", None)]
    assert rows[2:] == [("sign_out", "new.hire", second.headers["X-Request-ID"])]


def test_log_format_is_text_or_json(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "JSON")
    assert from_environment()["LOG_FORMAT"] == "json"
    monkeypatch.setenv("LOG_FORMAT", "")
    assert from_environment()["LOG_FORMAT"] == "text"
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigurationError, match="LOG_FORMAT"):
        from_environment()


def test_json_lines_put_tracebacks_inside_the_object(json_log):
    log = logging.getLogger("app.test")
    try:
        raise ValueError("first line\nsecond line")
    except ValueError:
        log.exception("it failed")
    (line,) = [x for x in json_log() if x["logger"] == "app.test"]
    assert line["level"] == "ERROR" and line["message"] == "it failed"
    assert "ValueError: first line\nsecond line" in line["exc_info"]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", line["time"])


def test_gunicorn_writes_json_only_when_asked(monkeypatch, tmp_path):
    from worker_helpers import load_config

    text = load_config(monkeypatch, LOG_FORMAT="text")
    assert "logconfig_dict" not in text  # text: gunicorn's own handlers and access line, as before
    conf = load_config(monkeypatch, LOG_FORMAT="json", LOG_LEVEL="DEBUG", GUNICORN_ACCESS_LOG=str(tmp_path / "a.log"),
                       GUNICORN_LOG_LEVEL="warning")
    logging_config = conf["logconfig_dict"]
    assert logging_config["handlers"]["access"] == {"class": "logging.FileHandler", "formatter": "json",
                                                    "filename": str(tmp_path / "a.log")}
    assert logging_config["handlers"]["error"]["stream"] == "ext://sys.stderr"
    assert logging_config["loggers"]["gunicorn.error"]["level"] == "WARNING"
    assert logging_config["loggers"]["app.access"]["handlers"] == ["access"]
    assert logging_config["root"] == {"level": "DEBUG", "handlers": ["error"]}
    off = load_config(monkeypatch, LOG_FORMAT="json", GUNICORN_ACCESS_LOG="")
    assert off["logconfig_dict"]["handlers"]["access"] == {"class": "logging.NullHandler"}

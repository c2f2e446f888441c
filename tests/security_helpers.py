"""Helpers for the security, fault, fuzz and secrets tests: CSRF-aware browsers, store and database readers."""

from __future__ import annotations

import hashlib
import logging
import os
import pathlib
import re
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import inspect, text

from app.extensions import db
from app.models import AuditEvent
from app.services import devices, qr
from app.services import session_credentials as credentials_service


def csrf_token(app, client) -> str:
    """Return the signed CSRF token for the client's session, as the portal's forms embed it."""
    with client.session_transaction() as session:
        # Same shape as Flask-WTF's own raw token, made the same way when the session has none yet.
        raw = session.setdefault("csrf_token", hashlib.sha1(os.urandom(64)).hexdigest())
    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)


class TokenClient:
    """A test client that sends the CSRF token with every POST, like a browser submitting the real form."""

    def __init__(self, app, client):
        self.app = app
        self.client = client

    def __getattr__(self, name):
        return getattr(self.client, name)

    def post(self, *args, data=None, **kwargs):
        """POST with the session's CSRF token added (unless the test gave one)."""
        data = dict(data or {})
        data.setdefault("csrf_token", csrf_token(self.app, self.client))
        return self.client.post(*args, data=data, **kwargs)


class RecordingClient(FlaskClient):
    """A test client that keeps every response it saw, redirects included (set as app.test_client_class)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.responses = []

    def open(self, *args, **kwargs):
        """Make the request and remember the answer (redirect hops come through here too)."""
        response = super().open(*args, **kwargs)
        if all(response is not seen for seen in self.responses):
            self.responses.append(response)
        return response


class HttpsClient(RecordingClient):
    """A browser on https://portal.example.com, as people reach a production deployment."""

    base_url = "https://portal.example.com"

    def open(self, *args, **kwargs):
        """Make the request over HTTPS unless told otherwise."""
        kwargs.setdefault("base_url", self.base_url)
        return super().open(*args, **kwargs)

    def session_transaction(self, *args, **kwargs):
        """Open the session this browser holds for the HTTPS site."""
        kwargs.setdefault("base_url", self.base_url)
        return super().session_transaction(*args, **kwargs)


def post_routes(app) -> list[str]:
    """Every URL rule that accepts POST, with placeholders filled in with harmless values."""
    routes = []
    for rule in app.url_map.iter_rules():
        if "POST" in (rule.methods or ()):
            routes.append(rule.build({arg: "x" for arg in rule.arguments}, append_unknown=False)[1])
    return sorted(routes)


def get_routes(app) -> list[str]:
    """Every URL rule that answers GET, placeholders filled in, static files left out."""
    routes = []
    for rule in app.url_map.iter_rules():
        if "GET" in (rule.methods or ()) and rule.endpoint != "static":
            routes.append(rule.build({arg: "x" for arg in rule.arguments}, append_unknown=False)[1])
    return sorted(routes)


def audit_actions(app) -> list[str]:
    """The audit log's actions, oldest first."""
    with app.app_context():
        # Attempts precede every AWS action; the outcomes say what happened.
        return [event.action for event in AuditEvent.query.order_by(AuditEvent.id) if event.outcome != "attempt"]


def database_text(app) -> str:
    """Every value of every column of every table, as one string to search."""
    chunks = []
    with app.app_context():
        for table in inspect(db.engine).get_table_names():
            rows = db.session.execute(text(f'SELECT * FROM "{table}"')).all()  # table names come from the schema itself
            chunks.extend(repr(tuple(row)) for row in rows)
    return "\n".join(chunks)


def store(app):
    """The store the app keeps signed-in sessions in."""
    return app.config["SESSION_STORE"]


def store_entry(app, session_id: str):
    """The stored session for an id, or None when the store has no such entry."""
    stored = store(app).load(session_id) if session_id else None
    return stored.data if stored else None


def store_files_bytes(app) -> bytes:
    """The raw bytes of the session store's files (database, WAL) as they lie on disk."""
    path = store(app).path
    return b"".join(pathlib.Path(path + suffix).read_bytes() for suffix in ("", "-wal")
                    if os.path.exists(path + suffix))


def session_id(client, name: str = "mfa_portal") -> str | None:
    """The session id the browser holds."""
    cookie = client.get_cookie(name)
    return cookie.value if cookie else None


@contextmanager
def closed_port():
    """A TCP port on 127.0.0.1 where nothing listens (connections are refused at once), for the block."""
    # Bound but not listening: the port stays refused and no parallel test's server can be given it.
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


@contextmanager
def silent_server():
    """A socket on 127.0.0.1 that accepts connections and never answers; yields its endpoint URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    accepted: list[socket.socket] = []

    def accept():
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
        for connection in accepted:
            connection.close()


@contextmanager
def answering_server(status: int, body: bytes, content_type: str = "text/xml"):
    """An HTTP server on 127.0.0.1 that gives every request the same answer; yields its endpoint URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            """Keep the test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def aws_error_xml(code: str, message: str = "Rate exceeded") -> bytes:
    """An AWS query-protocol error body."""
    return (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>").encode()


def read_seed(person, page) -> None:
    """Take the manual key from a scan page, as a person typing it into their app would."""
    match = re.search(r'<code id="manual-key">([A-Z2-7 ]+)</code>', page.get_data(as_text=True))
    person.seed = match.group(1).replace(" ", "")


def tour(person, monkeypatch) -> None:
    """Walk every flow and every kind of error page once, as one person with a CSRF-aware browser."""
    from app import aws
    from app.errors import AwsUnavailable
    from app.services import formats
    from conftest import Clock, code

    browser = person.client
    raw = browser.client
    raw.get("/login")
    person.sign_in(key_id="AKIAABCDEFGHIJKLMNOP", secret="s" * 40)  # keys AWS does not know
    person.sign_in()
    person.start_enrollment()
    raw.get("/enroll/scan")
    person.verify("000000", "111111")  # codes AWS refuses
    person.verify()
    person.get_credentials(token="000000")
    person.get_credentials()
    raw.get("/credentials/result?profile=work")
    raw.get("/credentials/result?profile=%3Cscript%3E")
    raw.get("/credentials/download?profile=work")
    serial = f"arn:aws:iam::123456789012:mfa/{person.user.name}"
    Clock.advance(2)  # past the code the credentials just spent: every route refuses a spent code
    raw.get("/enroll/resync")
    browser.post("/enroll/resync", data={"device": serial, "code1": code(person.seed, 0),
                                         "code2": code(person.seed, 1)}, follow_redirects=True)
    Clock.advance(3)
    person.get_credentials(token=code(person.seed, 0), duration=900)
    browser.post("/credentials/forget", follow_redirects=True)
    Clock.advance(1)
    raw.get("/device/replace")
    browser.post("/device/replace", data={"device": serial, "code": code(person.seed, 0)})
    read_seed(person, raw.get("/enroll/scan"))
    person.verify()
    person.get_credentials()
    raw.get("/no/such/page")
    raw.get("/logout")  # 405: sign-out is POST only
    raw.post("/credentials/forget")  # 400: no CSRF token
    with monkeypatch.context() as patch:
        patch.setattr(aws, "call", _raise(AwsUnavailable()))
        raw.get("/security/keys")  # 503 (the home page may answer from what this session already knows)
    browser.post("/device/replace", data={"device": serial, "code": "12345"})  # 400: bad code shape
    with monkeypatch.context() as patch:
        patch.setattr(formats, "render", _raise(RuntimeError("the snippet renderer broke")))
        raw.get("/credentials/result")  # 500
    browser.post("/logout", follow_redirects=True)
    raw.get("/")


def _raise(error: Exception):
    """A stand-in function that always fails with `error`."""

    def fail(*_args, **_kwargs):
        raise error

    return fail


def unsealed(app, entry: dict) -> dict:
    """Open a stored session's sealed values with the app's key, as only the portal itself can."""
    from app.vault import Sealer

    return Sealer(app.config["SECRET_KEY"]).open_entry(entry)


def stored_session_ids(app) -> list[str]:
    """Every session id the SQLite store holds, expired or not (what lies on disk)."""
    import sqlite3

    with sqlite3.connect(store(app).path) as db:
        return sorted(row[0] for row in db.execute("SELECT sid FROM portal_session"))


def outcomes():
    """Query the audit log's outcomes, leaving out the attempts written before each AWS call."""
    return AuditEvent.query.filter(AuditEvent.outcome != "attempt")


@dataclass
class Secrets:
    """Every secret the portal handled during the walk, as AWS gave it out."""

    long_term: list[str] = field(default_factory=list)
    seeds: list[str] = field(default_factory=list)
    session: list[str] = field(default_factory=list)


@pytest.fixture
def secrets(monkeypatch) -> Secrets:
    """Note each seed and session credential AWS hands the portal."""
    found = Secrets()
    real_create, real_token = devices.create_device, credentials_service.get_session_token

    def create_device(*args, **kwargs):
        new = real_create(*args, **kwargs)
        found.seeds.append(new.seed)
        return new

    def get_session_token(*args, **kwargs):
        creds = real_token(*args, **kwargs)
        found.session.extend([creds.secret_access_key, creds.session_token])
        return creds

    monkeypatch.setattr(devices, "create_device", create_device)
    for module in ("app.services.session_credentials", "app.services.devices.enrollment"):
        monkeypatch.setattr(f"{module}.get_session_token", get_session_token)
    return found


def fragments(secret: str) -> set[str]:
    """The secret and overlapping 16-character pieces of it, to catch a truncated or wrapped leak too."""
    return {secret} | {secret[i:i + 16] for i in range(0, max(1, len(secret) - 15), 8)}


def forms_of_seed(seed: str) -> set[str]:
    """A seed as it may be written: plain, grouped for typing, or inside the otpauth URI."""
    return fragments(seed) | {qr.grouped(seed)}


def leaks(haystack: str | bytes, secret_forms: set[str]) -> list[str]:
    """The forms of a secret found in a text or in raw bytes."""
    text = haystack.decode("latin-1") if isinstance(haystack, bytes) else haystack
    return sorted(form for form in secret_forms if form in text)


def log_everything(caplog) -> None:
    """Capture every logger at DEBUG, also below what the app configured for itself."""
    caplog.set_level(logging.DEBUG)
    for name in ("app", "botocore", "boto3", "urllib3", "moto", "werkzeug", "sqlalchemy", "flask_limiter"):
        caplog.set_level(logging.DEBUG, logger=name)

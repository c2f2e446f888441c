"""Secrets audit: walk every flow, then search every response, header, cookie, log line, table and session file."""

from __future__ import annotations

import json
import logging
import os
import pathlib
import re
from urllib.parse import quote

import pytest

from app.demo import emulator
from conftest import Person, make_test_app
from security_helpers import (
    RecordingClient,
    TokenClient,
    audit_actions,
    database_text,
    forms_of_seed,
    fragments,
    leaks,
    log_everything,
    secrets,  # noqa: F401 (a fixture)
    session_id,
    store_entry,
    store_files_bytes,
    stored_session_ids,
    tour,
    unsealed,
)

SEED_PAGES = {"/enroll/scan", "/enroll/verify"}  # verify re-renders the scan page on bad codes
CREDENTIAL_PAGES = {"/credentials/result", "/credentials/download"}


def response_text(response) -> str:
    """A response's body and every header, as one searchable text."""
    headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
    return headers + "\n" + response.get_data().decode("latin-1")


def places_besides_pages(app, raw, caplog) -> dict:
    """Every place a secret must never reach: cookies, logs, database (rows and file), session files."""
    return {
        "cookies": "\n".join(f"{c.key}={c.value}" for c in raw._cookies.values()),
        "logs": caplog.text + "\n".join(str(r.__dict__) for r in caplog.records),
        "database": database_text(app),
        "database file": pathlib.Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")).read_bytes(),
        "session files": store_files_bytes(app),
    }


@pytest.fixture(params=["in-process AWS", "AWS over HTTP"])
def csrf_app(request, moto, tmp_path):
    """The portal with CSRF on, talking to the emulator in-process or over real HTTP (urllib3 and all).

    Built before the test starts capturing logs: the migrations' logging set-up would drop the capture.
    """
    server = emulator.start() if request.param == "AWS over HTTP" else None
    app = make_test_app(tmp_path, WTF_CSRF_ENABLED=True, AWS_ENDPOINT_URL=server and server.endpoint_url)
    app.test_client_class = RecordingClient
    yield app
    if server:
        server.stop()


def test_secrets_appear_only_where_they_belong(csrf_app, make_user, monkeypatch, secrets, caplog):  # noqa: F811 (the fixture)
    app = csrf_app
    log_everything(caplog)
    raw = app.test_client()
    person = Person(TokenClient(app, raw), make_user("secret.keeper"))
    secrets.long_term.append(person.user.secret_access_key)
    tour(person, monkeypatch)

    assert len(secrets.seeds) == 2 and len(secrets.session) >= 8  # two devices, four sessions: the walk was real
    assert audit_actions(app).count("credentials_issued") >= 4
    seed_forms = set().union(*(forms_of_seed(s) for s in secrets.seeds))
    session_forms = set().union(*(fragments(s) for s in secrets.session))
    long_term_forms = set().union(*(fragments(s) for s in secrets.long_term))

    shown_seed = shown_session = False
    for response in raw.responses:
        where = f"{response.request.method} {response.request.path} -> {response.status_code}"
        text = response_text(response)
        assert leaks(text, long_term_forms) == [], where
        if leaks(text, seed_forms):
            assert response.request.path in SEED_PAGES and response.status_code in (200, 400), where
            shown_seed = True
        if leaks(text, session_forms):
            assert response.request.path in CREDENTIAL_PAGES and response.status_code == 200, where
            assert response.headers["Cache-Control"] == "no-store", where
            shown_session = True
    assert shown_seed and shown_session  # the searches can find these secrets where they do belong

    everything_else = places_besides_pages(app, raw, caplog)
    assert len(caplog.records) > 100
    if app.config["AWS_ENDPOINT_URL"]:
        assert any(record.name.startswith("urllib3") for record in caplog.records)  # real HTTP was logged too
    secret_forms = long_term_forms | seed_forms | session_forms
    for place, haystack in everything_else.items():
        assert leaks(haystack, secret_forms) == [], place


def test_the_session_store_holds_keys_only_encrypted(client, person, app):
    person.sign_in()
    entry = store_entry(app, session_id(client))
    stored = json.dumps(entry, default=str)
    assert person.user.secret_access_key not in stored
    assert person.user.secret_access_key not in store_files_bytes(app).decode("latin-1")
    assert unsealed(app, entry)["keys"]["secret_access_key"] == person.user.secret_access_key  # there, sealed


def test_the_rate_limit_file_holds_counters_only(moto, tmp_path, make_user):
    app = make_test_app(tmp_path, RATELIMIT_ENABLED=True)
    person = Person(app.test_client(), make_user("counted"))
    person.sign_in(secret="s" * 40)  # a wrong secret: counted against the key ID and the address
    person.enroll_fully()  # codes counted against the user and the device
    session_token = unsealed(app, store_entry(app, session_id(person.client)))["session_credentials"]["session_token"]
    path = app.config["RATELIMIT_STORAGE_URI"].split("://", 1)[1]
    # WAL mode: recent writes sit in the -wal file beside the database until a checkpoint.
    stored = "".join(pathlib.Path(path + suffix).read_bytes().decode("latin-1") for suffix in ("", "-wal")
                     if os.path.exists(path + suffix))
    assert "codes-per-user" in stored and "codes-per-device" in stored  # the counters are really here
    for secret in (person.user.secret_access_key, "s" * 40, person.seed, session_token):
        assert secret not in stored


def test_the_seed_leaves_the_store_once_the_device_is_enabled(client, person, app):
    person.sign_in()
    person.start_enrollment()
    assert unsealed(app, store_entry(app, session_id(client)))["pending_seed"] == person.seed
    person.verify()
    entry = store_entry(app, session_id(client))
    assert "pending_seed" not in unsealed(app, entry)
    assert "pending" not in entry


def test_a_stolen_store_without_the_secret_key_opens_nothing(client, person, app, tmp_path):
    person.enroll_fully()
    entry = store_entry(app, session_id(client))
    other = make_test_app(tmp_path / "elsewhere", SECRET_KEY="a different secret key " * 3)
    assert unsealed(other, entry) == {}


def test_app_logging_keeps_botocore_quiet_even_when_asked_for_debug(moto, tmp_path):
    make_test_app(tmp_path, LOG_LEVEL="DEBUG")
    assert logging.getLogger("botocore").getEffectiveLevel() >= logging.WARNING


def test_session_files_are_private_to_the_portal(moto, tmp_path, make_user):
    from app import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/portal.sqlite",
                      "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False})  # the default session store
    Person(app.test_client(), make_user("private")).sign_in()
    path = app.config["SESSION_STORE"].path
    assert path.startswith(app.instance_path) and stored_session_ids(app)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            assert os.stat(path + suffix).st_mode & 0o077 == 0, suffix


PASSWORDS = ("First-Console-Pass-1", "Second-Console-Pass-2")
NEW_KEY_PAGE = "/security/keys/new"


def test_own_credentials_secrets_appear_only_where_they_belong(csrf_app, make_user, caplog):
    """Console passwords appear nowhere, not even on their own pages; a rotated key's secret on its one page only."""
    app = csrf_app
    log_everything(caplog)
    raw = app.test_client()
    person = Person(TokenClient(app, raw), make_user("secret.keeper"))
    person.enroll_fully()
    person.client.post("/security/password", data={"new": PASSWORDS[0], "confirm": PASSWORDS[0]})
    person.client.post("/security/password", data={"current": PASSWORDS[0], "new": PASSWORDS[1],
                                                   "confirm": PASSWORDS[1]})
    person.client.post("/security/password", data={"current": "Wrong-Pass-99", "new": PASSWORDS[0],
                                                   "confirm": PASSWORDS[0]})  # a refusal re-renders the form
    page = person.client.post("/security/keys/rotate", data={"profile": "long-term", **person.code_here()},
                              follow_redirects=True)
    new_secret = re.search(r'id="new-key-secret">([^<]+)<', page.get_data(as_text=True)).group(1)
    person.client.get(NEW_KEY_PAGE)  # a reload shows it no more
    person.client.post("/security/keys/rotate/finish")

    password_forms = set().union(*(fragments(p) for p in PASSWORDS))
    new_key_forms = fragments(new_secret)
    shown = []
    for response in raw.responses:
        where = f"{response.request.method} {response.request.path} -> {response.status_code}"
        text = response_text(response)
        assert leaks(text, password_forms) == [], where
        if leaks(text, new_key_forms) or leaks(text, {quote(new_secret, safe="")}):
            assert response.request.path == NEW_KEY_PAGE and response.headers["Cache-Control"] == "no-store", where
            shown.append(where)
    assert shown == [f"GET {NEW_KEY_PAGE} -> 200"]  # shown exactly once, and the search can find it
    elsewhere = places_besides_pages(app, raw, caplog)
    assert audit_actions(app).count("console_password_changed") == 2  # a success and a failure
    for place, haystack in elsewhere.items():
        assert leaks(haystack, password_forms | new_key_forms) == [], place

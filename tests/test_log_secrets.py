"""JSON logs at DEBUG, in process and from a real gunicorn: every line one object, never a secret."""

from __future__ import annotations

import io
import json
import logging
import re
import time

from pages import assert_page

from app.logs import json_formatter
from bench._util import Browser, emulator, free_port, gunicorn, totp
from conftest import Person, code, make_test_app
from security_helpers import audit_actions, forms_of_seed, fragments, leaks, log_everything, secrets  # noqa: F401 (a fixture)

PASSWORD = "Console-Pass-Quokka-1"  # noqa: S105 - the recognisable secret the test searches for
REQUIRED = {"time", "level", "logger", "message"}
ACCESS = {"request_id", "method", "path", "status", "duration_ms", "client"}
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")
NEW_SECRET = re.compile(r'id="new-key-secret">([^<]+)<')


def parsed_lines(text: str) -> list[dict]:
    """Every line as the JSON object it must be, with the fields every line carries."""
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    for line in lines:
        assert REQUIRED <= set(line), line
        assert ISO_UTC.match(line["time"]), line
    return lines


def code_leaks(text: str, codes: set[str]) -> list[str]:
    """The six-digit codes found as whole numbers in a text."""
    return sorted(c for c in codes if re.search(rf"(?<![0-9]){c}(?![0-9])", text))


def test_in_process_json_lines_at_debug_hold_no_secret(moto, tmp_path, make_user, secrets, caplog):  # noqa: F811
    app = make_test_app(tmp_path, LOG_FORMAT="json", LOG_LEVEL="DEBUG")
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(json_formatter())
    log_everything(caplog)  # every logger at DEBUG, the portal's, botocore's and the emulator's
    logging.getLogger().addHandler(handler)
    try:
        client = app.test_client()
        person = Person(client, make_user("secret.keeper"))
        responses = [person.sign_in(follow=False), person.start_enrollment(), person.verify(follow=False),
                     person.get_credentials(follow=False)]
        codes = {code(person.seed, offset) for offset in (-1, 0, 1)}
        responses.append(client.post("/security/password", data={"new": PASSWORD, "confirm": PASSWORD}))
        rotated = client.post("/security/keys/rotate", data={"profile": "long-term", **person.code_here()},
                              follow_redirects=True)
        new_secret = NEW_SECRET.search(rotated.get_data(as_text=True)).group(1)
        responses += [rotated, client.post("/security/keys/rotate/finish")]
        session_cookie = client.get_cookie("mfa_portal").value
    finally:
        logging.getLogger().removeHandler(handler)
    lines = parsed_lines(out.getvalue())
    assert len(lines) > 100  # DEBUG from every library: the search below had plenty to look through
    requests = [line for line in lines if line["logger"] == "app.access"]
    for line in requests:
        assert ACCESS <= set(line) and "?" not in line["path"], line
    ids = {line["request_id"] for line in requests}
    assert {r.headers["X-Request-ID"] for r in responses} <= ids
    assert any(line.get("actor_arn", "").endswith("user/secret.keeper") for line in requests)

    assert {"console_password_set", "access_key_created", "portal_key_switched"} <= set(audit_actions(app))
    forms = set().union(*(fragments(s) for s in (person.user.secret_access_key, new_secret, PASSWORD,
                                                  session_cookie, app.config["SECRET_KEY"], *secrets.session)))
    forms |= set().union(*(forms_of_seed(seed) for seed in secrets.seeds))
    assert secrets.seeds and secrets.session  # the walk was real: AWS handed out a seed and session keys
    assert leaks(out.getvalue(), forms) == []
    assert code_leaks(out.getvalue(), codes) == []


def test_gunicorn_json_lines_at_debug_hold_no_secret(tmp_path, clock):
    clock.run()  # the portal and the emulator run in processes of their own, on the real clock
    aws_port = free_port()
    env = {"SECRET_KEY": "j" * 64, "INSTANCE_PATH": str(tmp_path / "instance"), "ALLOW_INSECURE_HTTP": "1",
           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{aws_port}", "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "2",
           "LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG", "GUNICORN_LOG_LEVEL": "debug"}
    with emulator(tmp_path, port=aws_port) as aws:
        with gunicorn(env=env, log=tmp_path / "gunicorn.log") as server:
            browser = Browser(aws.user("new.hire"), server.url)
            download = browser.enroll_fully()
            page = browser.request("GET", "/security/keys/rotate")
            # Rotating takes a code typed on the page; the three codes of now are spent, so wait for the next step.
            time.sleep(30 - time.time() % 30 + 0.5)
            rotated = browser.request("POST", "/security/keys/rotate", data={
                "csrf_token": browser.csrf(), "profile": "long-term", "code": totp(browser.seed, 1),
                "device": re.search(r'name="device" value="([^"]+)"', page.text).group(1)})
            new_secret = NEW_SECRET.search(rotated.text).group(1)
            browser.request("GET", "/security/keys")
            finished = browser.request("POST", "/security/keys/rotate/finish", data={"csrf_token": browser.csrf()})
            session_cookie = browser.http.cookies.get("mfa_portal")
            browser.request("GET", "/login?secret_access_key=query-never-logged")
    text = server.log.read_text()
    assert_page(download, 200, "aws_session_token")  # the credentials file
    assert_page(finished, 200, "Your old key is now inactive.")
    lines = parsed_lines(text)  # start-up, migration, worker boot, access and shut-down lines alike
    loggers = {line["logger"] for line in lines}
    assert {"gunicorn.error", "app.access", "app.aws", "app.services.audit"} <= loggers, loggers
    assert any(line["message"].startswith("Listening at: http://127.0.0.1:") for line in lines)
    requests = [line for line in lines if line["logger"] == "app.access"]
    for line in requests:
        assert ACCESS <= set(line) and line["client"] == "127.0.0.1", line
    assert [line["path"] for line in requests].count("/login") == 3  # the last one without its query
    assert {line["request_id"] for line in requests} >= {download.headers["X-Request-ID"],
                                                          rotated.headers["X-Request-ID"]}
    session = re.findall(r"^aws_(?:secret_access_key|session_token) = (\S+)$", download.text, re.M)
    assert len(session) == 2 and browser.seed and session_cookie
    forms = set().union(*(fragments(s) for s in (browser.user["secret_access_key"], new_secret, session_cookie,
                                                  env["SECRET_KEY"], "query-never-logged", *session)))
    assert leaks(text, forms | forms_of_seed(browser.seed)) == []

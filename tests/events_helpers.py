"""A webhook receiver checking Standard Webhooks signatures with `standardwebhooks`, a queue, an audited event."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

SECRET = "whsec_" + base64.b64encode(b"events-test-secret-0123456789abcdef").decode()


class Receiver:
    """An HTTP receiver on 127.0.0.1: verifies every request, answers `failures` 500s first, records the rest."""

    def __init__(self, secret: str = SECRET, failures: int = 0, port: int = 0, delay: float = 0.0):
        self.verifier = Webhook(secret)
        self.failures = failures
        self.accepted: list[dict] = []  # verified and answered 2xx
        self.requests: list[tuple[dict, bytes]] = []  # every request, raw
        self.rejected: list[str] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["content-length"]))
                time.sleep(delay)
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver.lock:
                    receiver.requests.append((headers, body))
                    try:
                        receiver.verifier.verify(body, headers)
                    except Exception as err:  # noqa: BLE001 - any refusal is a failed test
                        receiver.rejected.append(repr(err))
                        status = 400
                    else:
                        status = 500 if receiver.failures > 0 else 204
                        if status == 500:
                            receiver.failures -= 1
                        else:
                            receiver.accepted.append({"id": headers["webhook-id"], **json.loads(body)})
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T000/B000/not-a-real-token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def types(self) -> list[str]:
        """The event types accepted so far, in order."""
        with self.lock:
            return [message["type"] for message in self.accepted]

    def wait_for(self, count: int, timeout: float = 15.0) -> list[dict]:
        """Wait until `count` events were accepted; return them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.accepted) >= count:
                    return list(self.accepted)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} events, got {self.types()} (rejected: {self.rejected})")

    def wait_for_attempts(self, count: int, timeout: float = 15.0) -> None:
        """Wait until `count` requests arrived, whatever the answer."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return
            time.sleep(0.05)
        raise AssertionError(f"expected {count} requests, got {len(self.requests)}")

    def close(self) -> None:
        """Stop answering."""
        self.server.shutdown()
        self.server.server_close()


def settle(app, seconds: float = 0.5) -> None:
    """Wait until the outbox holds nothing due (delivered, failed, or waiting for a later retry)."""
    from app.models import EventOutbox, utcnow

    deadline = time.monotonic() + 15
    with app.app_context():
        from app.extensions import db

        while time.monotonic() < deadline:
            pending = db.session.scalar(db.select(db.func.count()).select_from(EventOutbox).where(
                EventOutbox.delivered_at.is_(None), EventOutbox.failed_at.is_(None),
                EventOutbox.next_attempt_at <= utcnow()))
            db.session.rollback()
            if not pending:
                break
            time.sleep(0.05)
    time.sleep(seconds)


def record_event(app, action="access_key_deleted", **detail) -> str:
    """Write one audited success the way a flow does; return its audit key (the webhook-id)."""
    from app.services import audit

    with app.test_request_context():
        return audit.record(audit.Action(action), audit.Actor("arn:aws:iam::123456789012:user/a", "a", "127.0.0.1"),
                            key_id="AKIAEXAMPLEEXAMPLE12", **detail)

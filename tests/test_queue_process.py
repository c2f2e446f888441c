"""The queue consumer as a real process: started by gunicorn alone, stopped with it, killed and restarted."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from events_helpers import SECRET, Receiver, record_event

from app.extensions import db
from app.models import EventOutbox
from bench._util import ROOT, Browser, free_port, gunicorn
from conftest import make_test_app


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def children(pid: int) -> list[int]:
    """A process's direct children."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def test_gunicorn_alone_delivers_events_and_stops_its_consumer(tmp_path):
    receiver = Receiver()
    env = {"SECRET_KEY": "w" * 64, "INSTANCE_PATH": str(tmp_path / "instance"), "ALLOW_INSECURE_HTTP": "1",
           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}", "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "2",
           "WEBHOOK_URLS": receiver.url, "WEBHOOK_SECRET": SECRET, "SIGN_IN_LIMIT_PER_KEY": "2 per minute"}
    # Keys of the wrong shape are refused before any AWS call, yet each attempt counts against the key ID.
    stranger = Browser({"access_key_id": "AKIA123", "secret_access_key": "x"}, "", headers={"Connection": "close"})
    try:
        with gunicorn(env=env, log=tmp_path / "gunicorn.log") as server:
            stranger.base = server.url
            for _ in range(2):
                stranger.sign_in()
            (message,) = receiver.wait_for(1, timeout=30)
            assert message["type"] == "sign_in.burst" and message["data"]["budget"] == "sign-in-failures-per-key"
            supervisor = int(re.search(r"Started the queue consumer \(pid (\d+)\)", server.log.read_text()).group(1))
            (consumer,) = children(supervisor)
            assert alive(consumer)
            server.proc.terminate()  # what `docker stop` or systemd does
            server.proc.wait(30)
            deadline = time.monotonic() + 10
            while (alive(supervisor) or alive(consumer)) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not alive(supervisor) and not alive(consumer)
            log = server.log.read_text()
        assert "Consumer exiting" in log and "Traceback" not in log
        assert log.count("Started the queue consumer") == 1  # one per machine, not one per worker
    finally:
        receiver.close()


def consumer_process(env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start `python -m app.consumer` as an operator's service would."""
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "app.consumer"], cwd=ROOT, env=env,  # noqa: S603
                                stdout=out, stderr=subprocess.STDOUT)


def undelivered(app) -> int:
    """Outbox rows not yet marked delivered."""
    with app.app_context():
        count = db.session.scalar(db.select(db.func.count()).select_from(EventOutbox).where(
            EventOutbox.delivered_at.is_(None)))
        db.session.remove()
        return count


def test_a_killed_consumer_loses_nothing_once_restarted(moto, tmp_path):
    receiver = Receiver(delay=0.05)
    try:
        database = f"sqlite:///{tmp_path}/portal.sqlite"
        app = make_test_app(tmp_path, WEBHOOK_URLS=[receiver.url], WEBHOOK_SECRET=SECRET)
        keys = {record_event(app) for _ in range(40)}
        env = {**os.environ, "SECRET_KEY": "k" * 64, "DATABASE_URL": database, "AUTO_MIGRATE": "0",
               "WEBHOOK_URLS": receiver.url, "WEBHOOK_SECRET": SECRET, "QUEUE_WORKERS": "1"}
        first = consumer_process(env, tmp_path / "consumer.log")
        try:
            receiver.wait_for(10, timeout=30)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        delivered_before = len(receiver.accepted)
        assert delivered_before < 40
        second = consumer_process(env, tmp_path / "consumer.log")
        try:
            # A delivery in hand when the first one died waits for its claim to lapse and the next minute's sweep.
            deadline = time.monotonic() + 100
            while ({m["id"] for m in receiver.accepted} != keys or undelivered(app)) and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            second.send_signal(signal.SIGINT)
            second.wait(30)
        ids = [m["id"] for m in receiver.accepted]
        assert set(ids) == keys
        assert len(ids) - len(keys) <= 1  # at most the one in hand at the kill, under the same webhook-id
        assert undelivered(app) == 0
        with app.app_context():
            db.engine.dispose()
        assert "Consumer exiting" in (tmp_path / "consumer.log").read_text()
    finally:
        receiver.close()

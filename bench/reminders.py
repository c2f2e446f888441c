"""Benchmark reminder e-mails: 5,000 to a local SMTP server, the queue consumer killed halfway and restarted.

Run: .venv/bin/python bench/reminders.py [--people 5000] [--workers 2] [--kill-at 0.5]
                                        [--database-url postgresql+psycopg://...] [--redis-url redis://...]

A snapshot of N people without MFA is written straight into a fresh database (no AWS: the reminders read
the snapshot only), `flask reminders send`'s code queues one reminder each, and a real consumer process
(`python -m app.consumer`, as gunicorn's master starts it) sends them to an aiosmtpd server in this
process. When the given share has arrived it is killed with SIGKILL (no chance to finish anything) and
started again. The bench then checks that every person got their reminder and counts copies: a
reminder whose message the server accepted in the instant before the kill, but whose "sent" mark
never reached the database, goes out again under the same Message-ID (at least once, never lost).
"""

from __future__ import annotations

import argparse
import email
import email.policy
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Reminder, ReportSnapshot, ReportUser  # noqa: E402
from app.services import audit, reminders  # noqa: E402
from bench._util import free_port  # noqa: E402


class Mailbox:
    """Counts messages per recipient and per Message-ID."""

    def __init__(self) -> None:
        self.recipients: Counter[str] = Counter()
        self.ids: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.recipients.update(envelope.rcpt_tos)
            self.ids[message["Message-ID"]] += 1
        return "250 Message accepted"

    def total(self) -> int:
        with self.lock:
            return sum(self.recipients.values())


def seed(app, people: int) -> list[int]:
    """A snapshot of `people` users without MFA, and one queued reminder each (nothing handed to a consumer)."""
    with app.app_context():
        snapshot = ReportSnapshot(users=people, taken_by="bench")
        db.session.add(snapshot)
        db.session.flush()
        db.session.execute(db.insert(ReportUser.__table__), [
            {"snapshot_id": snapshot.id, "user_name": f"user{n:05d}", "mfa_status": "none", "covered_by": "direct",
             "arn": f"arn:aws:iam::123456789012:user/user{n:05d}", "abandoned": False} for n in range(people)])
        db.session.commit()
        with app.test_request_context():
            found = reminders.plan(reminders.fresh_snapshot(), "IAM.19", app.config)
            return reminders.queue(found, "2027-01-31", audit.Actor(user_name="bench"))


def consumer(env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start the consumer as gunicorn's supervisor would."""
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "app.consumer"], cwd=ROOT, env=env,  # noqa: S603
                                stdout=out, stderr=subprocess.STDOUT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill-at", type=float, default=0.5)
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-reminders-"))
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    env = {**os.environ, "SECRET_KEY": "b" * 64, "INSTANCE_PATH": str(work / "instance"), "AUTO_MIGRATE": "1",
           "DATABASE_URL": args.database_url or f"sqlite:///{work}/portal.sqlite", "REDIS_URL": args.redis_url or "",
           "SMTP_URL": f"smtp://127.0.0.1:{smtp.port}", "MAIL_FROM": "it@example.com",
           "PORTAL_URL": "https://mfa.example.com/", "REMINDER_EMAIL": "{username}@example.com",
           "QUEUE_WORKERS": str(args.workers), "LOG_LEVEL": "WARNING"}
    os.environ.update(env)
    app = create_app()
    started = time.perf_counter()
    ids = seed(app, args.people)
    queued = time.perf_counter() - started
    print(f"queued {len(ids)} reminders in {queued:.1f} s (rows + audit + queue tasks)")
    env["AUTO_MIGRATE"] = "0"
    log = work / "consumer.log"
    started = time.perf_counter()
    first = consumer(env, log)
    while mailbox.total() < args.people * args.kill_at:
        if first.poll() is not None:
            sys.exit(f"the consumer exited early; see {log}")
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait()
    at_kill = mailbox.total()
    first_part = time.perf_counter() - started
    print(f"killed the consumer (SIGKILL) after {at_kill} messages in {first_part:.1f} s "
          f"({at_kill / first_part:.0f} per second)")
    second = consumer(env, log)
    restarted = time.perf_counter()
    with app.app_context():
        while True:
            left = db.session.scalar(db.select(db.func.count()).select_from(Reminder).where(Reminder.status != "sent"))
            db.session.rollback()
            if not left or second.poll() is not None:
                break
            time.sleep(0.2)
    done = time.perf_counter()
    second.send_signal(signal.SIGINT)
    second.wait(30)
    smtp.stop()
    copies = {name: n for name, n in mailbox.recipients.items() if n > 1}
    reached = len(mailbox.recipients)
    print(f"after the restart: {mailbox.total() - at_kill} more messages in {done - restarted:.1f} s "
          f"(including the {reminders.CLAIM.total_seconds():.0f} s claim of any reminder the killed one held)")
    print(f"total {done - started:.1f} s for {args.people} people: {reached} reached, "
          f"{sum(1 for n in mailbox.recipients.values() if n == 1)} exactly once, {len(copies)} more than once; "
          f"{len(mailbox.ids)} distinct Message-IDs")
    if reached != args.people:
        sys.exit(f"LOST: {args.people - reached} people got no reminder")
    if copies:
        print(f"sent again after the kill (accepted by the server just before it): {sorted(copies)}")


if __name__ == "__main__":
    main()

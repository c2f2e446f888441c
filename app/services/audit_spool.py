"""The audit log's durable write: rows with the events they announce in one transaction, else a local spool."""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..instance_files import private_file
from ..models import AuditEvent, EventOutbox
from . import queueing

# The audit module's logger: operators' log filters name it, and these lines were always its own.
log = logging.getLogger("app.services.audit")


def spool_path() -> str:
    """The local file that keeps records the database could not take (one per host)."""
    return os.path.join(current_app.instance_path, "audit-spool.jsonl")


def insert(rows: list[dict[str, Any]], spooled: bool = False) -> None:
    """Write rows in one transaction; spooled rows skip any already written (a spool flushed twice)."""
    if spooled:
        keys = [row["event_key"] for row in rows]
        present = set(db.session.scalars(db.select(AuditEvent.event_key).where(AuditEvent.event_key.in_(keys))))
        rows = [row for row in rows if row["event_key"] not in present]
    owed = []
    if rows:
        # A Core insert: an event is written once and never read back, so the ORM's bookkeeping buys nothing.
        values = [row | {"at": datetime.fromisoformat(row["at"])} for row in rows]
        db.session.execute(db.insert(AuditEvent.__table__), values)
        owed = _owed_events(rows)
    db.session.commit()
    if owed:
        _dispatch(owed)


def _owed_events(rows: list[dict[str, Any]]) -> list[str]:
    """Write the webhook events these rows announce, in their transaction; return their event keys."""
    owed = queueing.announce(rows)
    if owed:
        db.session.execute(db.insert(EventOutbox.__table__), owed)
    return sorted({row["event_id"] for row in owed})


def _dispatch(event_keys: list[str]) -> None:
    """Hand committed events to the queue; if it is away, the consumer's sweep finds them later."""
    try:
        ids = list(db.session.scalars(db.select(EventOutbox.id).where(EventOutbox.event_id.in_(event_keys))))
        queueing.enqueue(queueing.DELIVER_WEBHOOK, ids)
    except Exception as err:  # noqa: BLE001 - the event is safe in the outbox; the request must not fail now
        discard_transaction()
        log.warning("events: queue unavailable (%s); the consumer's sweep will deliver them", type(err).__name__)


def discard_transaction() -> None:
    """Roll back after a failed write; the connection may be gone too."""
    try:
        db.session.rollback()
    except SQLAlchemyError:
        db.session.close()


@contextmanager
def spool_locked() -> Iterator[Any]:
    """Open the spool under an exclusive lock shared by every worker of this host."""
    # Created 0600 by private_file, not under a changed umask: the umask is process-wide, and the other
    # threads of a gthread worker would create their files under it meanwhile.
    spool = open(private_file(spool_path()), "a+", encoding="utf-8")  # noqa: SIM115 - closed below
    try:
        fcntl.flock(spool, fcntl.LOCK_EX)
        yield spool
    finally:
        spool.close()


def flush_spool() -> int:
    """Land spooled records before anything newer; return how many were pending."""
    path = spool_path()
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return 0
    with spool_locked() as spool:
        spool.seek(0)
        # Records spooled before request ids existed lack the key; one insert needs the same keys in each row.
        rows = [{"request_id": None} | json.loads(line) for line in spool if line.strip()]
        if rows:
            insert(rows, spooled=True)  # raises while the database is still away: the spool stays as it is
        spool.truncate(0)
    log.info("audit spool: %d records landed", len(rows))
    return len(rows)


def keep(row: dict[str, Any]) -> None:
    """Keep a record on local disk until the database is back (fsync: it must survive a crash)."""
    with spool_locked() as spool:
        spool.write(json.dumps(row) + "\n")
        spool.flush()
        os.fsync(spool.fileno())
    log.warning("audit: database unavailable, %s %s kept in the local spool", row["action"], row["outcome"])

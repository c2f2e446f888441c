"""The queue: Huey on a SQLite file (one machine, nothing to set up) or on Redis (REDIS_URL), and its tasks.

The database is the record of what is owed (event_outbox, reminder); Huey only carries the work. A task
lost with a crash or a Redis restart is found again by the sweep, at the consumer's start and every minute.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from flask import Flask, current_app

from . import metrics
from .backends import redis_options
from .instance_files import private_dir, private_sqlite
from .services import audit, events, queueing, reminders

log = logging.getLogger(__name__)

EXTENSION = "mfa_portal_queue"
# Events first: 5,000 reminders queued by an admin must not hold back the news of a reset device.
EVENT_PRIORITY = 10
REMINDER_PRIORITY = 0
# A task due this long ago and still not done was lost: the sweep queues it again.
LATE = timedelta(seconds=60)


def queue(app: Flask | None = None):
    """The app's Huey instance with the portal's tasks registered, built on first use."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get(EXTENSION)
    if found is None:
        found = app.extensions[EXTENSION] = _build(app)
    return found


def _import_huey():
    """Import huey without the client libraries it loads for storages the portal may not use."""
    # huey.storage imports redis and psycopg whenever they are installed: about 17 MB in every worker of a
    # portal on SQLite alone, which never uses either. A portal on Redis or PostgreSQL has them already.
    blocked = [name for name in ("redis", "psycopg") if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # an ImportError for huey's optional import
    try:
        import huey
    finally:
        for name in blocked:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]
    return huey


def _give_huey_redis():
    """Hand huey's storage module the Redis client it skipped (a SQLite app imported huey first: tests).

    Return redis-py, for the caller to build its pool with.
    """
    import redis  # only for a portal on Redis: one on SQLite never loads the client (see _import_huey)

    storage = sys.modules["huey.storage"]
    if storage.Redis is None:
        storage.ConnectionPool, storage.Redis = redis.ConnectionPool, redis.Redis
        storage.ConnectionError, storage.TimeoutError = redis.exceptions.ConnectionError, redis.exceptions.TimeoutError
        storage.RedisStorage.redis_client = redis.Redis
    return redis


def _build(app: Flask):
    """Pick the storage from the settings and register the tasks against this app."""
    huey = _import_huey()
    immediate = bool(app.config.get("QUEUE_IMMEDIATE"))
    if app.config["REDIS_URL"]:
        redis = _give_huey_redis()
        # Bounded waits, as for sessions: a partitioned Redis must not hold a person's request (the event is
        # safe in the outbox meanwhile). The consumer's blocking pop waits 1 s, so reads get that much more.
        options = redis_options(app.config) | {"socket_timeout": app.config["REDIS_TIMEOUT"] + 2}
        pool = redis.ConnectionPool.from_url(app.config["REDIS_URL"], **options)
        instance = huey.PriorityRedisHuey("mfa-portal", connection_pool=pool, results=False, immediate=immediate)
    else:
        path = private_sqlite(private_dir(app.instance_path) / "queue.sqlite")
        instance = huey.SqliteHuey("mfa-portal", filename=str(path), results=False, immediate=immediate)
    _register(app, instance)
    return instance


def _in_app(app: Flask, func: Callable[..., Any]) -> Callable[..., Any]:
    """Run a task inside the app's context (database session, settings, metrics)."""

    def run(*args: Any) -> Any:
        with app.app_context():
            return func(*args)

    run.__name__, run.__qualname__, run.__module__ = func.__name__, func.__qualname__, __name__
    return run


def _register(app: Flask, huey) -> None:
    """Attach the task functions to this Huey instance; the consumer builds the same app, so the same names."""
    from huey import crontab  # huey is imported by _import_huey, never at the top (see there)

    # Registered under the names services enqueue by (app/services/queueing.py): an attribute of the instance each.
    setattr(huey, queueing.DELIVER_WEBHOOK, huey.task(priority=EVENT_PRIORITY)(_in_app(app, deliver_webhook)))
    setattr(huey, queueing.SEND_REMINDER, huey.task(priority=REMINDER_PRIORITY)(_in_app(app, send_reminder)))
    huey.sweep = huey.periodic_task(crontab(minute="*"), priority=EVENT_PRIORITY)(_in_app(app, sweep))


def announce(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the outbox rows these audit rows announce to the configured webhooks (installed by the factory)."""
    return events.outbox_rows(rows, current_app.config.get("WEBHOOK_URLS") or [])


def hand_over(task_name: str, ids: Iterable[int]) -> None:
    """Queue one run of the named task per row id (installed by the factory)."""
    task = getattr(queue(), task_name)
    for row_id in ids:
        task(row_id)


def deliver_webhook(delivery_id: int) -> None:
    """Try one webhook delivery; schedule the retry, or record the final failure."""
    config = current_app.config
    result = events.deliver(delivery_id, config.get("WEBHOOK_URLS") or [], config.get("WEBHOOK_SECRET"))
    if result.outcome == "skipped":
        return
    metrics.webhook_delivery(result.outcome)
    if result.outcome == "retry":
        log.info("webhook %s not delivered (%s): next try in %ss", result.event_type, result.reason, result.retry_in)
        getattr(queue(), queueing.DELIVER_WEBHOOK).schedule((delivery_id,), delay=result.retry_in)
    elif result.outcome == "failed":
        log.warning("webhook %s given up (%s)", result.event_type, result.reason)
        audit.record(audit.Action.WEBHOOK_FAILED, audit.Actor(), audit.Outcome.FAILURE, event=result.event_type,
                     reason=result.reason)


def send_reminder(reminder_id: int) -> None:
    """Send one reminder e-mail (at most once per reminder row, unless a worker died while sending it)."""
    outcome = reminders.send(reminder_id, current_app.config)
    if outcome != "skipped":
        metrics.reminder(outcome)


def sweep(late: timedelta = LATE) -> int:
    """Queue again whatever should have been done by now; return how many tasks it queued."""
    lost_events = events.due(late=late)
    lost_reminders = reminders.due(late=late)
    hand_over(queueing.DELIVER_WEBHOOK, lost_events)
    hand_over(queueing.SEND_REMINDER, lost_reminders)
    if lost_events or lost_reminders:
        log.info("queue sweep: %d events and %d reminders queued again", len(lost_events), len(lost_reminders))
    return len(lost_events) + len(lost_reminders)


class InProcessConsumer:
    """Huey's consumer as threads of this process, without its signal handlers (the demo, tests)."""

    def __init__(self, app: Flask, workers: int = 1):
        self.consumer = queue(app).create_consumer(workers=workers, worker_type="thread", periodic=True,
                                                   initial_delay=0.05, max_delay=0.5, scheduler_interval=1)

    def start(self) -> InProcessConsumer:
        """Start the scheduler and the worker threads."""
        self.consumer.scheduler.start()
        for _worker, thread in self.consumer.worker_threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Let the workers finish the task in hand, then stop."""
        self.consumer.stop_flag.set()
        self.consumer._join_workers()


"""Hand owed work to the queue by task name: services say what is owed, the factory installs how it travels.

The task bodies (app/tasks.py) call services; if services imported them back to enqueue, the two would import
each other. Instead the factory installs two hooks at start-up: one that turns audit rows into the webhook
events they announce (written in the audit's transaction), one that hands row ids to a Huey task by its name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

# Task names, as app/tasks.py registers them with Huey.
DELIVER_WEBHOOK = "deliver_webhook"
SEND_REMINDER = "send_reminder"

Announce = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
HandOver = Callable[[str, Iterable[int]], None]


class QueueNotInstalled(RuntimeError):
    """No hand-over is installed (an app not built by the factory): the rows wait for the consumer's sweep."""


@dataclass
class _Hooks:
    announce: Announce | None = None
    hand_over: HandOver | None = None


# One per process, like the task bodies themselves: every app built here installs the same two functions,
# and they find their app's settings and queue through the app context they are called in.
_hooks = _Hooks()


def install(announce: Announce, hand_over: HandOver) -> None:
    """Say how audit rows become outbox rows and how row ids reach a named task (the factory, at start-up)."""
    _hooks.announce, _hooks.hand_over = announce, hand_over


def announce(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the outbox rows these audit rows announce."""
    if _hooks.announce is None:
        raise QueueNotInstalled("no announcer installed: create the app with app.create_app")
    return _hooks.announce(rows)


def enqueue(task_name: str, ids: Iterable[int]) -> None:
    """Queue one run of the named task per row id."""
    if _hooks.hand_over is None:
        raise QueueNotInstalled("no queue installed: create the app with app.create_app")
    _hooks.hand_over(task_name, ids)

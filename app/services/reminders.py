"""Reminder e-mails: who gets which reminder, the message in plain words, and sending it once."""

from __future__ import annotations

from datetime import timedelta

CLAIM = timedelta(seconds=30)


def due(late: timedelta = timedelta(0)) -> list[int]:
    """Reminders owed and not in hand (placeholder until the reminders land)."""
    return []

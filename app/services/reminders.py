"""Reminder e-mails: who gets which reminder, the message in plain words, and sending it once."""

from __future__ import annotations

from datetime import timedelta


def due(late: timedelta = timedelta(0)) -> list[int]:
    """Reminders owed and not in hand (placeholder until the reminders land)."""
    return []

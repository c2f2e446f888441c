"""Times as the portal keeps them: always with the UTC zone."""

from __future__ import annotations

from datetime import UTC, datetime


def aware(when: datetime | None) -> datetime | None:
    """Give naive times (moto's, SQLite's) the UTC zone AWS's carry; None stays None (the one such helper)."""
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when

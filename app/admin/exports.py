"""CSV downloads that spreadsheets open safely."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from flask import Response

# A cell starting with one of these is a formula in Excel, LibreOffice and Google Sheets
# (OWASP "CSV injection"); a leading apostrophe makes it plain text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """Render one value as text that no spreadsheet evaluates."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, datetime):
        text = as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything the portal stores is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable[Any]]) -> Response:
    """Return a CSV attachment with every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([cell(value) for value in row] for row in rows)
    return Response(buffer.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


def stamp() -> str:
    """Return a UTC timestamp for file names."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")

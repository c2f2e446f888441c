"""CSV downloads that spreadsheets open safely."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from flask import Response

# A cell starting with = + - @ (or a tab or CR) is a formula in Excel, LibreOffice and Google Sheets
# (OWASP "CSV injection"); a leading apostrophe makes it plain text. A spreadsheet told to split on
# ";" or "|" (or a tab) starts a new cell inside a value such as "Mozilla;=HYPERLINK(...)", so the
# apostrophe goes before every formula character that starts a value or follows one of those separators
# (and spaces or quotes), and before an apostrophe already there, so that read_cell() can undo it exactly.
_SEPARATORS = ",;|\t\r\n"
_RISKY = re.compile(rf"((?:^|[{_SEPARATORS}])[ \"]*)(?=[=+\-@\t\r'])")
_ESCAPED = re.compile(rf"((?:^|[{_SEPARATORS}])[ \"]*)'(?=[=+\-@\t\r'])")


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
    return _RISKY.sub(r"\1'", text)


def read_cell(text: str) -> str:
    """Undo cell() for a text value: the documented way to get user names back from an export."""
    return _ESCAPED.sub(r"\1", text)


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

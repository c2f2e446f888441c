"""Table exports that spreadsheets open safely: one cell rule and one set of columns for pages and commands."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

from ..clock import aware
from .findings import CONTROLS

# A cell starting with = + - @ (or a tab or CR) is a formula in Excel, LibreOffice and Google Sheets
# (OWASP "CSV injection"); a leading apostrophe makes it plain text. A spreadsheet told to split on
# ";" or "|" (or a tab) starts a new cell inside a value such as "Mozilla;=HYPERLINK(...)", so the
# apostrophe goes before every formula character that starts a value or follows one of those separators
# (and spaces or quotes), and before an apostrophe already there, so that read_cell() can undo it exactly.
_SEPARATORS = ",;|\t\r\n"
_RISKY = re.compile(rf"((?:^|[{_SEPARATORS}])[ \"]*)(?=[=+\-@\t\r'])")
_ESCAPED = re.compile(rf"((?:^|[{_SEPARATORS}])[ \"]*)'(?=[=+\-@\t\r'])")

# The enrollment export's columns, on the dashboard's download and from `flask report export` alike:
# a column added here (and in user_values) appears in both.
USER_CSV_HEADER = ["user", "arn", "mfa_status", "devices", "enabled_at", "console_password", "access_key_last_used",
                   "force_mfa_policy", "abandoned_device", "last_portal_activity", "user_created",
                   *(f"finding {control}" for control in CONTROLS)]


def user_values(row: Any, activity: dict[str, datetime]) -> list[Any]:
    """One snapshot row's values in USER_CSV_HEADER's order (`activity`: last portal activity per user)."""
    failing = set((row.findings or "").split(","))
    return [row.user_name, row.arn, row.mfa_status, row.device_names, row.enabled_at, row.password_enabled,
            row.key_last_used, row.covered_by, row.abandoned, activity.get(row.user_name), row.created,
            *(control in failing for control in CONTROLS)]


# A download or `flask report export` also says, on every row, the dashboard filter it holds ("all": everyone),
# so a sheet that was sorted or pasted elsewhere still tells what it was taken with.
EXPORT_HEADER = [*USER_CSV_HEADER, "filter"]


def export_values(row: Any, activity: dict[str, datetime], taken_with: str) -> list[Any]:
    """One row of an export: user_values() and the filter."""
    return [*user_values(row, activity), taken_with]


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
    return aware(value).astimezone(UTC)


def plain(value: Any) -> Any:
    """A value as JSON carries it: times as UTC ISO 8601, everything else as it is."""
    return as_utc(value).isoformat() if isinstance(value, datetime) else value


def write_csv(out: TextIO, header: list[str], rows: Iterable[Iterable[Any]]) -> int:
    """Write a header and rows with every cell neutralised, row by row; return how many rows."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow([cell(value) for value in row])
        count += 1
    return count


def csv_chunks(header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The same CSV as write_csv, as one string per row (for a download assembled in memory or streamed)."""

    class _Line:
        text = ""

        def write(self, text: str) -> None:
            self.text = text

    line = _Line()
    writer = csv.writer(line, lineterminator="\r\n")
    writer.writerow(header)
    yield line.text
    for row in rows:
        writer.writerow([cell(value) for value in row])
        yield line.text

"""CSV downloads that spreadsheets open safely (the cell rule lives in services/exports.py, shared with commands)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from flask import Response

from ..services.exports import as_utc, cell, csv_chunks, read_cell

__all__ = ["as_utc", "cell", "csv_response", "read_cell", "stamp"]


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable[Any]]) -> Response:
    """Return a CSV attachment with every cell neutralised."""
    return Response("".join(csv_chunks(header, rows)), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


def stamp() -> str:
    """Return a UTC timestamp for file names."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")

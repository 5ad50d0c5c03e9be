"""CSV downloads: UTF-8 with a BOM (Excel opens it as UTF-8), dates and local times as text,
streamed as the rows are read."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response

from api.auth import engine_context

CHUNK_ROWS = 1000  # rows per piece of a streamed download


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run the cell


def cell(value: Any, zone: tzinfo) -> Any:
    """A value as a CSV cell: local time to the minute, ISO dates, '' for None; text that a
    spreadsheet would read as a formula (an enterprise's name `=HYPERLINK(...)`) is prefixed
    with an apostrophe, so it is shown as text (OWASP: CSV injection)."""
    if isinstance(value, datetime):
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return "" if value is None else value


def csv_response(header: Sequence[str], rows: Iterable[Sequence[Any]], filename: str) -> Response:
    """A CSV attachment named `filename` (ASCII, without .csv), sent in pieces of CHUNK_ROWS
    rows as `rows` yields them: a registry of any size goes out without being held in memory.
    When the download ends, finished or not, `rows` is closed if it can be (an export's read
    transaction ends with it)."""
    zone = ZoneInfo(engine_context().settings.timezone)
    return Response(
        _pieces(header, rows, zone),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={filename}.csv"},
    )


def _pieces(header: Sequence[str], rows: Iterable[Sequence[Any]], zone: tzinfo) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(header)
    try:
        for n, row in enumerate(rows, 1):
            writer.writerow([cell(v, zone) for v in row])
            if n % CHUNK_ROWS == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()

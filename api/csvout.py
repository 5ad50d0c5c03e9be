"""CSV downloads: UTF-8 with a BOM (Excel opens it as UTF-8), dates and local times as text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response

from api.auth import engine_context


def cell(value: Any) -> Any:
    """A value as a CSV cell: local time to the minute, ISO dates, '' for None."""
    if isinstance(value, datetime):
        zone = ZoneInfo(engine_context().settings.timezone)
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else value


def csv_response(header: Sequence[str], rows: Iterable[Sequence[Any]], filename: str) -> Response:
    """A CSV attachment named `filename` (ASCII, without .csv)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([cell(v) for v in row] for row in rows)
    return Response(
        "\ufeff" + buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={filename}.csv"},
    )

"""A series' stored values, streamed as CSV or JSON for pandas and scripts.

Read in keyset slices of CHUNK_ROWS (each "the next rows after this date/time" on the (series, date|time) unique
index), never as one query: memory stays flat for any range, and no server-side cursor is held open while a
slow client reads (PostgreSQL materialises a WITH HOLD cursor's whole result when its transaction ends).
Times are written as the Data page's CSV export writes them: days as dates, continuous times in UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Literal

import orjson
from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from ninja import Path, Query, Router

from monitoring import export_limits, streams
from monitoring.csv_safe import LineWriter, csv_text
from monitoring.data_views import plausible_date
from monitoring.export import format_value, values_in_range
from stations.models import TimeSeries

from .auth import require
from .errors import FieldErrors
from .schemas import AUTH_ERRORS, Error

router = Router(tags=["values"])

CHUNK_ROWS = 5000
RETRY_AFTER = 30  # seconds: a hint; a stream holds its slot until it is read to the end or cut off
COLUMNS = ["value", "unit_usgs", "approval_status", "qualifiers", "last_modified_utc"]


def _implausible(day: dt.date | None) -> str | None:
    try:
        plausible_date(day) if day else None
    except ValidationError as exc:
        return exc.messages[0]
    return None


def _utc(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def value_rows(series: TimeSeries, start: dt.date | None, end: dt.date | None, tz: dt.tzinfo) -> Iterator[list]:
    """Lists of (when, value, approval_status, qualifiers, last_modified), oldest first, CHUNK_ROWS at a time."""
    field = "date" if series.kind == TimeSeries.Kind.DAILY else "time"
    qs = values_in_range(series, start, end, tz).values_list(
        field, "value", "approval_status", "qualifiers", "last_modified"
    )
    last = None
    while True:
        chunk = list((qs if last is None else qs.filter(**{f"{field}__gt": last}))[:CHUNK_ROWS])
        if chunk:
            yield chunk
        if len(chunk) < CHUNK_ROWS:
            return
        last = chunk[-1][0]


def csv_stream(series: TimeSeries, start: dt.date | None, end: dt.date | None, tz: dt.tzinfo) -> Iterator[str]:
    """The Data page's export's writer and cell rule (monitoring/csv_safe.py): text from USGS never runs as a
    formula in a spreadsheet, a line break inside a cell never starts a row."""
    writer = LineWriter()
    daily = series.kind == TimeSeries.Kind.DAILY
    site, ts_id = csv_text(series.location.monitoring_location_id), csv_text(series.time_series_id)
    unit = csv_text(series.unit)
    yield writer.line(["site", "time_series_id", "date" if daily else "time_utc", *COLUMNS])
    for chunk in value_rows(series, start, end, tz):
        yield "".join(
            writer.line(
                [
                    site,
                    ts_id,
                    when.isoformat() if daily else _utc(when),
                    format_value(value),
                    unit,
                    csv_text(status or ""),
                    csv_text(" ".join(qualifiers or [])),
                    modified.astimezone(dt.UTC).isoformat() if modified else "",
                ]
            )
            for when, value, status, qualifiers, modified in chunk
        )


def json_stream(series: TimeSeries, start: dt.date | None, end: dt.date | None, tz: dt.tzinfo) -> Iterator[bytes]:
    daily = series.kind == TimeSeries.Kind.DAILY
    time_key = "date" if daily else "time_utc"
    head = {
        "site": series.location.monitoring_location_id,
        "time_series_id": series.time_series_id,
        "kind": series.kind,
        "unit": series.unit,
    }
    yield orjson.dumps(head)[:-1] + b',"values":['
    first = True
    for chunk in value_rows(series, start, end, tz):
        items = b",".join(
            orjson.dumps(
                {
                    time_key: when.isoformat() if daily else _utc(when),
                    "value": value,
                    "approval_status": status,
                    "qualifiers": qualifiers or [],
                    "last_modified_utc": modified.astimezone(dt.UTC).isoformat() if modified else None,
                }
            )
            for when, value, status, qualifiers, modified in chunk
        )
        yield items if first else b"," + items
        first = False
    yield b"]}"


_JSON_SCHEMA = {
    "type": "object",
    "required": ["site", "time_series_id", "kind", "unit", "values"],
    "properties": {
        "site": {"type": "string"},
        "time_series_id": {"type": "string"},
        "kind": {"type": "string", "enum": ["daily", "continuous"]},
        "unit": {"type": "string"},
        "values": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "date": {"type": "string", "format": "date"},
                    "time_utc": {"type": "string"},
                    "value": {"type": ["number", "null"]},
                    "approval_status": {"type": ["string", "null"]},
                    "qualifiers": {"type": "array", "items": {"type": "string"}},
                    "last_modified_utc": {"type": ["string", "null"]},
                },
            },
        },
    },
}
_CSV_EXAMPLE = (
    "site,time_series_id,date,value,unit_usgs,approval_status,qualifiers,last_modified_utc\n"
    "USGS-01646500,a1b2c3d4e5f60718293a4b5c6d7e8f90,2025-06-01,10400.0,ft^3/s,Approved,,2025-09-30T12:00:00+00:00\n"
)


@router.get(
    "/series/{time_series_id}/values",
    response={200: None, 404: Error, 422: Error, **AUTH_ERRORS},
    url_name="series_values",
    summary="A series' stored values (CSV or JSON, streamed)",
    description="Oldest first. `start` / `end` are days, both included: for continuous series the station's local "
    "days where its time zone is known (as on its Data page); the times written are UTC (`time_utc`). Daily "
    "series have a `date` column. Read with pandas: `pd.read_csv(url, storage_options={'Authorization': "
    "'Bearer …'})`.",
    openapi_extra={
        "responses": {
            200: {
                "description": "The values, streamed.",
                "content": {
                    "text/csv": {"schema": {"type": "string"}, "example": _CSV_EXAMPLE},
                    "application/json": {"schema": _JSON_SCHEMA},
                },
            }
        }
    },
)
def series_values(
    request: HttpRequest,
    time_series_id: str = Path(..., max_length=64, example="a1b2c3d4e5f60718293a4b5c6d7e8f90"),
    start: dt.date | None = Query(None, description="First day (YYYY-MM-DD)."),
    end: dt.date | None = Query(None, description="Last day (YYYY-MM-DD)."),
    format: Literal["csv", "json"] = Query("csv"),  # noqa: A002 - the query parameter's name
):
    require(request, "acquisition.view_dailyvalue")
    # As the Data page's form checks them: far-off years would overflow the day arithmetic mid-stream.
    errors = {name: [message] for name, day in (("start", start), ("end", end)) if (message := _implausible(day))}
    if errors:
        raise FieldErrors(errors)
    if start and end and start > end:
        raise FieldErrors({"start": ["The range starts after it ends; swap start and end."]})
    series = get_object_or_404(TimeSeries.objects.select_related("location"), time_series_id=time_series_id)
    daily = series.kind == TimeSeries.Kind.DAILY
    tz = (None if daily else series.location.zone) or dt.UTC
    name = f"{series.location.monitoring_location_id}_{series.kind}_{start or 'first'}_{end or 'last'}"
    # A web thread per running stream: the API shares the Data page's export slots, per user across all tokens.
    limit = export_limits.exports_per_user()
    slot = export_limits.acquire(request.user.pk, limit)
    if slot is None:
        response = JsonResponse(
            {
                "detail": f"You already have {limit} downloads streaming (the API's and the Data page's together); "
                "wait for one to finish, then try again."
            },
            status=429,
        )
        response["Retry-After"] = str(RETRY_AFTER)
        return response
    if format == "json":
        response = streams.slotted_stream(request, json_stream(series, start, end, tz), slot, "application/json")
        response["Content-Disposition"] = f'inline; filename="{name}.json"'
        return response
    response = streams.slotted_stream(request, csv_stream(series, start, end, tz), slot, "text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response

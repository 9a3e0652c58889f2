"""Reading stored observations for charts and CSV export. Monitoring reads observations, never writes them."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator

from acquisition.models import ApprovalStatus, ContinuousValue, DailyValue
from stations.models import TimeSeries

EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
CSV_CHUNK_ROWS = 2000


def values_in_range(series: TimeSeries, start: dt.date | None, end: dt.date | None):
    """Values of the series between two calendar days (inclusive), oldest first; served by the
    (series, date) / (series, time) unique index."""
    if series.kind == TimeSeries.Kind.DAILY:
        qs = DailyValue.objects.filter(series=series).order_by("date")
        if start:
            qs = qs.filter(date__gte=start)
        if end:
            qs = qs.filter(date__lte=end)
        return qs
    qs = ContinuousValue.objects.filter(series=series).order_by("time")
    if start:
        qs = qs.filter(time__gte=dt.datetime.combine(start, dt.time.min, dt.UTC))
    if end:
        qs = qs.filter(time__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, dt.UTC))
    return qs


def timeseries_rows(series: TimeSeries, start: dt.date | None, end: dt.date | None) -> list[tuple]:
    """(epoch seconds, value, provisional?) for the chart; tuples, not model instances, for speed."""
    provisional = ApprovalStatus.PROVISIONAL
    if series.kind == TimeSeries.Kind.DAILY:
        rows = values_in_range(series, start, end).values_list("date", "value", "approval_status")
        return [((d.toordinal() - EPOCH_ORDINAL) * 86400.0, v, s == provisional) for d, v, s in rows]
    rows = values_in_range(series, start, end).values_list("time", "value", "approval_status")
    return [(t.timestamp(), v, s == provisional) for t, v, s in rows]


def data_extent(series: TimeSeries) -> tuple[dt.date, dt.date] | None:
    """First and last calendar day stored (two index lookups, not an aggregate over the table)."""
    qs = values_in_range(series, None, None)
    field = "date" if series.kind == TimeSeries.Kind.DAILY else "time"
    first = qs.values_list(field, flat=True).first()
    if first is None:
        return None
    last = qs.order_by(f"-{field}").values_list(field, flat=True).first()
    as_day = (lambda v: v) if field == "date" else (lambda v: v.astimezone(dt.UTC).date())
    return as_day(first), as_day(last)


class _Echo:
    def write(self, value: str) -> str:
        return value


def format_value(value: float | None) -> str:
    # repr() is the shortest text that reads back as exactly the same float.
    return "" if value is None else repr(value)


def csv_lines(series: TimeSeries, start: dt.date | None, end: dt.date | None) -> Iterator[str]:
    """The CSV in chunks of rows, read from the database in chunks: memory stays flat for any range."""
    writer = csv.writer(_Echo(), lineterminator="\n")
    daily = series.kind == TimeSeries.Kind.DAILY
    field = "date" if daily else "time"
    yield writer.writerow(
        [field if daily else "time_utc", "value", "unit", "approval_status", "qualifiers", "last_modified"]
    )
    rows = values_in_range(series, start, end).values_list(
        field, "value", "approval_status", "qualifiers", "last_modified"
    )
    chunk = []
    unit = series.unit
    for when, value, status, qualifiers, modified in rows.iterator(chunk_size=CSV_CHUNK_ROWS):
        chunk.append(
            writer.writerow(
                [
                    when.isoformat() if daily else when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    format_value(value),
                    unit,
                    status or "",
                    " ".join(qualifiers or []),
                    modified.astimezone(dt.UTC).isoformat() if modified else "",
                ]
            )
        )
        if len(chunk) >= CSV_CHUNK_ROWS:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)

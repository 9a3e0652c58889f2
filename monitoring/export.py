"""Reading stored observations for charts and CSV export. Monitoring reads observations, never writes them."""

from __future__ import annotations

import csv
import datetime as dt
import math
import statistics
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connection
from django.db.models.expressions import RawSQL

from acquisition.models import ApprovalStatus, ContinuousValue, DailyValue
from stations.models import TimeSeries

from .charts import MAX_DRAWN

EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
CSV_CHUNK_ROWS = 2000


def values_in_range(series: TimeSeries, start: dt.date | None, end: dt.date | None, tz: dt.tzinfo = dt.UTC):
    """Values of the series between two calendar days (inclusive) of time zone `tz` (continuous data: the station's
    local days where known), oldest first; served by the (series, date) / (series, time) unique index."""
    if series.kind == TimeSeries.Kind.DAILY:
        qs = DailyValue.objects.filter(series=series).order_by("date")
        if start:
            qs = qs.filter(date__gte=start)
        if end:
            qs = qs.filter(date__lte=end)
        return qs
    qs = ContinuousValue.objects.filter(series=series).order_by("time")
    if start:
        qs = qs.filter(time__gte=dt.datetime.combine(start, dt.time.min, tz))
    if end:
        qs = qs.filter(time__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tz))
    return qs


def timeseries_rows(
    series: TimeSeries, start: dt.date | None, end: dt.date | None, tz: dt.tzinfo = dt.UTC
) -> list[tuple]:
    """(epoch seconds, value, provisional?) for the chart; tuples, not model instances, for speed."""
    provisional = ApprovalStatus.PROVISIONAL
    if series.kind == TimeSeries.Kind.DAILY:
        rows = values_in_range(series, start, end).values_list("date", "value", "approval_status")
        return [((d.toordinal() - EPOCH_ORDINAL) * 86400.0, v, s == provisional) for d, v, s in rows]
    rows = values_in_range(series, start, end, tz).values_list("time", "value", "approval_status")
    return [(t.timestamp(), v, s == provisional) for t, v, s in rows]


def data_extent(series: TimeSeries, tz: dt.tzinfo = dt.UTC) -> tuple[dt.date, dt.date] | None:
    """First and last calendar day stored (two index lookups, not an aggregate over the table)."""
    qs = values_in_range(series, None, None)
    field = "date" if series.kind == TimeSeries.Kind.DAILY else "time"
    first = qs.values_list(field, flat=True).first()
    if first is None:
        return None
    last = qs.order_by(f"-{field}").values_list(field, flat=True).first()
    as_day = (lambda v: v) if field == "date" else (lambda v: v.astimezone(tz).date())
    return as_day(first), as_day(last)


class _Echo:
    def write(self, value: str) -> str:
        return value


def format_value(value: float | None) -> str:
    # repr() is the shortest text that reads back as exactly the same float. A non-finite value stored anyway
    # (before the parser refused them, or by hand) is no measurement: an empty cell, as for a missing one.
    return "" if value is None or not math.isfinite(value) else repr(value)


# OWASP's list of first characters a spreadsheet reads as the start of a formula (= + - @ tab CR), and LF.
DANGEROUS_FIRST = frozenset("=+-@\t\r\n")


def csv_text(text: str) -> str:
    """A text cell that no spreadsheet opens as a formula: one starting with = + - @ tab CR or LF gets a leading
    single quote (OWASP, CSV injection). Only for text: numbers are written by format_value, a negative one as is."""
    return "'" + text if text and text[0] in DANGEROUS_FIRST else text


def csv_lines(series: TimeSeries, start: dt.date | None, end: dt.date | None, tz: dt.tzinfo = dt.UTC) -> Iterator[str]:
    """The CSV in chunks of rows, read from the database in chunks: memory stays flat for any range. Times are
    always UTC (the column says so); `tz` only says whose calendar days `start` and `end` are."""
    # CRLF (RFC 4180) also makes the writer quote a cell holding a bare CR: with "\n" it wrote it unquoted, and a
    # spreadsheet started a new row there.
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    daily = series.kind == TimeSeries.Kind.DAILY
    field = "date" if daily else "time"
    yield writer.writerow(
        [field if daily else "time_utc", "value", "unit_usgs", "approval_status", "qualifiers", "last_modified_utc"]
    )
    rows = values_in_range(series, start, end, tz).values_list(
        field, "value", "approval_status", "qualifiers", "last_modified"
    )
    chunk = []
    unit = csv_text(series.unit)  # text from USGS, like the status and qualifiers
    for when, value, status, qualifiers, modified in rows.iterator(chunk_size=CSV_CHUNK_ROWS):
        chunk.append(
            writer.writerow(
                [
                    when.isoformat() if daily else when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    format_value(value),
                    unit,
                    csv_text(status or ""),
                    csv_text(" ".join(qualifiers or [])),
                    modified.astimezone(dt.UTC).isoformat() if modified else "",
                ]
            )
        )
        if len(chunk) >= CSV_CHUNK_ROWS:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


# --- Chart data: exact rows for short ranges, min/max per pixel column from the database for long ones ----------

_EPOCH_SQL = {
    "postgresql": "EXTRACT(EPOCH FROM {col})::float8",
    "sqlite": "((julianday({col}) - 2440587.5) * 86400.0)",
}


@dataclass
class ChartData:
    rows: list[tuple[float, float | None, bool]]  # what the chart draws: (epoch s, value, provisional?)
    values: int  # values in the range (nulls included)
    provisional: int
    gap: float | None  # seconds between values that break the line; None: let the chart infer it
    bucketed: bool


def chart_data(
    series: TimeSeries,
    start: dt.date,
    end: dt.date,
    *,
    start_epoch: float,
    span: float,
    width: int,
    tz: dt.tzinfo = dt.UTC,
):
    """Up to 4 values per pixel column are read as they are; beyond that the database reduces each column
    (and approval status) to its minimum and maximum, so 100,000 values cross the wire as ~2,000 rows."""
    qs = values_in_range(series, start, end, tz)
    limit = 4 * width
    if qs[: limit + 1].count() <= limit:
        rows = timeseries_rows(series, start, end, tz)
        return ChartData(rows, len(rows), sum(1 for r in rows if r[2]), None, False)
    return _bucketed(series, start, end, start_epoch, width / max(span, 1.0), tz)


def _bucketed(
    series: TimeSeries, start: dt.date, end: dt.date, start_epoch: float, scale: float, tz: dt.tzinfo = dt.UTC
) -> ChartData:
    daily = series.kind == TimeSeries.Kind.DAILY
    epoch = _EPOCH_SQL.get(connection.vendor, _EPOCH_SQL["postgresql"]).format(col="date" if daily else "time")
    # The ORM writes the range filter (so dates and times are adapted as the backend stores them).
    inner = (
        values_in_range(series, start, end, tz)
        .order_by()
        .annotate(
            t=RawSQL(epoch, []),
            p=RawSQL("approval_status = %s", [ApprovalStatus.PROVISIONAL]),
            # Only drawable values reach MIN/MAX: an inf or NaN stored anyway counts as a missing value.
            v=RawSQL("CASE WHEN value BETWEEN %s AND %s THEN value END", [-MAX_DRAWN, MAX_DRAWN]),
        )
        .values_list("t", "v", "p")
    )
    inner_sql, inner_params = inner.query.sql_with_params()
    sql = f"""
        SELECT CAST((t - %s) * %s AS INTEGER) AS b, p, MIN(t), MAX(t), MIN(v), MAX(v), COUNT(*), COUNT(v)
        FROM ({inner_sql}) v GROUP BY b, p ORDER BY b, MIN(t)
    """  # noqa: S608 - the inner query is the ORM's, values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [start_epoch, scale, *inner_params])
        buckets = cursor.fetchall()

    steps = [(t_last - t_first) / (count - 1) for _, _, t_first, t_last, _, _, count, _ in buckets if count > 1]
    gap = 1.5 * 86400 if daily else (2.5 * max(statistics.median(steps), 60.0) if steps else math.inf)
    rows: list[tuple[float, float | None, bool]] = []
    total = provisional = 0
    previous_value = previous_t = None
    for _, p, t_first, t_last, vmin, vmax, count, known in buckets:
        p = bool(p)
        total += count
        provisional += count if p else 0
        if previous_t is not None and t_first - previous_t > gap:
            rows.append((previous_t, None, p))  # missing interval between two columns: a gap in the line
        previous_t = t_last
        if vmin is None:
            rows.append((t_first, None, p))
            continue
        # Within one pixel column the order only matters for the joining line: start near the previous point.
        low_first = previous_value is None or abs(previous_value - vmin) <= abs(previous_value - vmax)
        first, second = (vmin, vmax) if low_first else (vmax, vmin)
        rows.append((t_first, first, p))
        if t_last > t_first:
            rows.append((t_last, second, p))
        previous_value = second
        if known < count:
            rows.append((t_last, None, p))  # a missing value inside the column: break the line after it
    # Gaps are already marked in the rows; the chart must not infer any from the columns' spacing.
    return ChartData(rows, total, provisional, math.inf, True)

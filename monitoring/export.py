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
    """The shortest text that reads back as exactly the same float, written as PostgreSQL writes a float8 (so the
    COPY export and this one agree byte for byte): 100, not 100.0; 1.5e+15 from 1e15 on. A non-finite value
    stored anyway (before the parser refused them, or by hand) is no measurement: an empty cell, as a missing one."""
    if value is None or not math.isfinite(value):
        return ""
    text = repr(value)
    if text.endswith(".0"):
        text = text[:-2]
        digits = text.lstrip("-")
        if len(digits) == 16:  # 1e15 <= |value| < 1e16: repr has no exponent yet, PostgreSQL has one
            significant = digits.rstrip("0")
            mantissa = significant[0] + (f".{significant[1:]}" if len(significant) > 1 else "")
            text = f"{text[: len(text) - len(digits)]}{mantissa}e+15"
    return text


# OWASP's list of first characters a spreadsheet reads as the start of a formula (= + - @ tab CR), and LF.
DANGEROUS_FIRST = frozenset("=+-@\t\r\n")


def csv_text(text: str) -> str:
    """A text cell that no spreadsheet opens as a formula: one starting with = + - @ tab CR or LF gets a leading
    single quote (OWASP, CSV injection). Only for text: numbers are written by format_value, a negative one as is."""
    return "'" + text if text and text[0] in DANGEROUS_FIRST else text


def csv_header(series: TimeSeries) -> str:
    time_column = "date" if series.kind == TimeSeries.Kind.DAILY else "time_utc"
    return f"{time_column},value,unit_usgs,approval_status,qualifiers,last_modified_utc\n"


def csv_chunks(
    series: TimeSeries, start: dt.date | None, end: dt.date | None, tz: dt.tzinfo = dt.UTC
) -> Iterator[bytes]:
    """The CSV export in chunks of bytes: PostgreSQL's own COPY ... TO STDOUT there, rows formatted here elsewhere;
    the same bytes either way. Memory stays flat for any range. Times are always UTC (the column says so); `tz`
    only says whose calendar days `start` and `end` are."""
    yield csv_header(series).encode()
    if _copy_supported():
        yield from _copy_rows(series, start, end, tz)
    else:
        for text in csv_lines(series, start, end, tz):
            yield text.encode()


def _copy_supported() -> bool:
    return connection.vendor == "postgresql"


def csv_lines(series: TimeSeries, start: dt.date | None, end: dt.date | None, tz: dt.tzinfo = dt.UTC) -> Iterator[str]:
    """The rows of the CSV (no header), formatted in Python, CSV_CHUNK_ROWS rows a chunk, read in chunks."""
    # The writer quotes a cell holding any character of its line terminator: "\r\n" makes it quote a bare CR too
    # (with "\n" it did not, and a spreadsheet started a new row there); each line then ends "\n", as COPY's do.
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    daily = series.kind == TimeSeries.Kind.DAILY
    field = "date" if daily else "time"
    rows = values_in_range(series, start, end, tz).values_list(
        field, "value", "approval_status", "qualifiers", "last_modified"
    )
    chunk = []
    unit = csv_text(series.unit)  # text from USGS, like the status and qualifiers
    for when, value, status, qualifiers, modified in rows.iterator(chunk_size=CSV_CHUNK_ROWS):
        line = writer.writerow(
            [
                when.isoformat() if daily else when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                format_value(value),
                unit,
                csv_text(status or ""),
                csv_text(" ".join(qualifiers or [])),
                modified.astimezone(dt.UTC).isoformat() if modified else "",
            ]
        )
        chunk.append(line[:-2] + "\n")
        if len(chunk) >= CSV_CHUNK_ROWS:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def _neutralised(expression: str) -> str:
    """SQL of csv_text() over a text expression; NULL for an empty one (COPY writes NULL as an empty cell)."""
    return (
        f"NULLIF(CASE WHEN left({expression}, 1) IN ('=', '+', '-', '@', chr(9), chr(10), chr(13)) "
        f"THEN '''' || {expression} ELSE {expression} END, '')"
    )


def _copy_rows(series: TimeSeries, start: dt.date | None, end: dt.date | None, tz: dt.tzinfo) -> Iterator[bytes]:
    """COPY (SELECT ...) TO STDOUT: PostgreSQL formats every cell as csv_lines() does and streams the result."""
    daily = series.kind == TimeSeries.Kind.DAILY
    field = "date" if daily else "time"
    inner = (
        values_in_range(series, start, end, tz)
        .order_by()
        .values_list(field, "value", "approval_status", "qualifiers", "last_modified")
    )
    inner_sql, inner_params = inner.query.sql_with_params()
    if daily:
        when = "to_char(v.date, 'YYYY-MM-DD')"
    else:
        when = """to_char(v.time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
    modified = "(v.last_modified AT TIME ZONE 'UTC')"
    qualifiers = (
        "CASE WHEN jsonb_typeof(v.qualifiers) = 'array' "
        "THEN array_to_string(ARRAY(SELECT jsonb_array_elements_text(v.qualifiers)), ' ') ELSE '' END"
    )
    sql = f"""
        COPY (
            SELECT {when},
                CASE WHEN v.value IN ('Infinity'::float8, '-Infinity'::float8, 'NaN'::float8) THEN NULL
                     ELSE v.value END,
                NULLIF(%s::text, ''),
                {_neutralised("coalesce(v.approval_status, '')")},
                {_neutralised(qualifiers)},
                to_char({modified}, 'YYYY-MM-DD"T"HH24:MI:SS')
                    || CASE WHEN extract(microseconds FROM {modified})::int %% 1000000 <> 0
                            THEN to_char({modified}, '.US') ELSE '' END
                    || '+00:00'
            FROM ({inner_sql}) v
            ORDER BY v.{field}
        ) TO STDOUT WITH (FORMAT csv)
    """  # noqa: S608 - the inner query is the ORM's; values are parameters
    with connection.cursor() as cursor, cursor.cursor.copy(sql, [csv_text(series.unit), *inner_params]) as copy:
        for block in copy:
            yield bytes(block)


# --- Chart data: exact rows for short ranges, min/max per pixel column from the database for long ones ----------

# date_part() is float8 arithmetic; EXTRACT(EPOCH …)::float8 goes through numeric since PostgreSQL 14 and cost a
# third of the min/max query over a 5-minute year (bench/chart.py: 111 -> 70 ms). Both are exact to the microsecond.
_EPOCH_SQL = {
    "postgresql": "date_part('epoch', {col})",
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

"""Reading stored observations for charts and CSV export. Monitoring reads observations, never writes them."""

from __future__ import annotations

import datetime as dt
import json
import math
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import connection
from django.db.models.expressions import RawSQL

from acquisition.models import ApprovalStatus, ContinuousValue, DailyValue
from stations.models import TimeSeries

from .charts import MAX_DRAWN
from .csv_safe import LineWriter, csv_text
from .hydrograph_mark_drawing import Mark

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
) -> tuple[list[tuple], list[Mark]]:
    """(epoch seconds, value, provisional?) for the chart, tuples, not model instances, for speed; and the runs of
    consecutive values that carry the same qualifiers, as marks."""
    provisional = ApprovalStatus.PROVISIONAL
    daily = series.kind == TimeSeries.Kind.DAILY
    field_name = "date" if daily else "time"
    stored = values_in_range(series, start, end, tz).values_list(field_name, "value", "approval_status", "qualifiers")
    rows, runs = [], []
    run: Mark | None = None
    for when, v, s, qualifiers in stored:
        t = (when.toordinal() - EPOCH_ORDINAL) * 86400.0 if daily else when.timestamp()
        rows.append((t, v, s == provisional))
        note = ", ".join(qualifiers) if isinstance(qualifiers, list) else ""
        if run is not None and note == run.note:
            run.end, run.values = t, run.values + 1
            continue
        run = Mark("qualified", t, t, 1, note=note) if note else None
        if run is not None:
            runs.append(run)
    return rows, runs


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
    writer = LineWriter()  # each line ends "\n", as COPY's do
    daily = series.kind == TimeSeries.Kind.DAILY
    field = "date" if daily else "time"
    rows = values_in_range(series, start, end, tz).values_list(
        field, "value", "approval_status", "qualifiers", "last_modified"
    )
    chunk = []
    unit = csv_text(series.unit)  # text from USGS, like the status and qualifiers
    for when, value, status, qualifiers, modified in rows.iterator(chunk_size=CSV_CHUNK_ROWS):
        line = writer.line(
            [
                when.isoformat() if daily else when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                format_value(value),
                unit,
                csv_text(status or ""),
                csv_text(" ".join(qualifiers or [])),
                modified.astimezone(dt.UTC).isoformat() if modified else "",
            ]
        )
        chunk.append(line)
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
    nonpositive: int = 0  # values <= 0
    positive: int = 0  # values > 0 (and drawable)
    qualified: list[Mark] = field(default_factory=list)  # runs of values with qualifiers (per pixel column if bucketed)
    columns: list[Column] = field(default_factory=list)  # bucketed: what the database said of each pixel column


@dataclass
class Column:
    """One pixel column of a reduced chart (both approval statuses): what hydrograph_screening needs to skip it."""

    index: int
    first: float  # epoch s of its first and last stored value
    last: float
    present: int  # values that are not null
    present_first: float | None
    present_last: float | None
    low: float | None  # smallest and largest drawable value
    high: float | None
    nonpositive: int


def chart_data(
    series: TimeSeries,
    start: dt.date,
    end: dt.date,
    *,
    start_epoch: float,
    span: float,
    width: int,
    tz: dt.tzinfo = dt.UTC,
    log: bool = False,
):
    """Up to 4 values per pixel column are read as they are; beyond that the database reduces each column
    (and approval status) to its minimum and maximum, so 100,000 values cross the wire as ~2,000 rows.
    `log`: the minimum of a column is its smallest value above 0 (values <= 0 cannot be drawn on a log axis)."""
    qs = values_in_range(series, start, end, tz)
    limit = 4 * width
    if qs[: limit + 1].count() <= limit:
        rows, qualified = timeseries_rows(series, start, end, tz)
        known = [v for _, v, _ in rows if v is not None and -MAX_DRAWN <= v <= MAX_DRAWN]
        return ChartData(
            rows,
            len(rows),
            sum(1 for r in rows if r[2]),
            None,
            False,
            nonpositive=sum(1 for v in known if v <= 0),
            positive=sum(1 for v in known if v > 0),
            qualified=qualified,
        )
    return _bucketed(series, start, end, start_epoch, width / max(span, 1.0), tz, log)


# The stored qualifiers as text where they are a non-empty list (a JSON null or [] carries none), else NULL.
_QUALIFIERS_SQL = {
    "postgresql": "CASE WHEN qualifiers NOT IN ('[]'::jsonb, 'null'::jsonb) THEN qualifiers::text END",
    "sqlite": "CASE WHEN qualifiers NOT IN ('[]', 'null') THEN qualifiers END",
}


def _bucketed(
    series: TimeSeries,
    start: dt.date,
    end: dt.date,
    start_epoch: float,
    scale: float,
    tz: dt.tzinfo = dt.UTC,
    log: bool = False,
) -> ChartData:
    daily = series.kind == TimeSeries.Kind.DAILY
    vendor = connection.vendor if connection.vendor in _EPOCH_SQL else "postgresql"
    epoch = _EPOCH_SQL[vendor].format(col="date" if daily else "time")
    # Only drawable values reach MIN/MAX: an inf or NaN stored anyway counts as a missing value; on a log axis,
    # so does a value <= 0 (it is counted apart).
    drawable = ("CASE WHEN value > 0 AND value <= %s THEN value END", [MAX_DRAWN]) if log else (
        "CASE WHEN value BETWEEN %s AND %s THEN value END", [-MAX_DRAWN, MAX_DRAWN]
    )  # fmt: skip
    # The ORM writes the range filter (so dates and times are adapted as the backend stores them).
    inner = (
        values_in_range(series, start, end, tz)
        .order_by()
        .annotate(
            t=RawSQL(epoch, []),
            p=RawSQL("approval_status = %s", [ApprovalStatus.PROVISIONAL]),
            v=RawSQL(*drawable),
            z=RawSQL("CASE WHEN value <= 0 THEN 1 ELSE 0 END", []),
            n=RawSQL("CASE WHEN value IS NOT NULL THEN 1 END", []),
            qt=RawSQL(_QUALIFIERS_SQL[vendor], []),
        )
        .values_list("t", "v", "p", "z", "n", "qt")
    )
    inner_sql, inner_params = inner.query.sql_with_params()
    sql = f"""
        SELECT CAST((t - %s) * %s AS INTEGER) AS b, p, MIN(t), MAX(t), MIN(v), MAX(v), COUNT(*), COUNT(v),
               SUM(z), COUNT(n), MIN(CASE WHEN n = 1 THEN t END), MAX(CASE WHEN n = 1 THEN t END),
               COUNT(qt), MIN(CASE WHEN qt IS NOT NULL THEN t END), MAX(CASE WHEN qt IS NOT NULL THEN t END),
               MIN(qt), MAX(qt)
        FROM ({inner_sql}) v GROUP BY b, p ORDER BY b, MIN(t)
    """  # noqa: S608 - the inner query is the ORM's, values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [start_epoch, scale, *inner_params])
        buckets = cursor.fetchall()

    steps = [(b[3] - b[2]) / (b[6] - 1) for b in buckets if b[6] > 1]
    gap = 1.5 * 86400 if daily else (2.5 * max(statistics.median(steps), 60.0) if steps else math.inf)
    rows: list[tuple[float, float | None, bool]] = []
    total = provisional = nonpositive = positive = 0
    previous_value = previous_t = None
    for _, p, t_first, t_last, vmin, vmax, count, known, zs, *_ in buckets:
        p = bool(p)
        total += count
        provisional += count if p else 0
        nonpositive += zs or 0
        positive += known
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
    if not log:  # the values <= 0 were among the drawable ones
        positive = max(0, positive - nonpositive)
    # Gaps are already marked in the rows; the chart must not infer any from the columns' spacing.
    return ChartData(
        rows, total, provisional, math.inf, True, nonpositive, positive, _qualified_columns(buckets), _columns(buckets)
    )


def _columns(buckets: list[tuple]) -> list[Column]:
    columns: list[Column] = []
    for b, _, t_first, t_last, vmin, vmax, _, _, zs, present, p_first, p_last, *_ in buckets:
        c = columns[-1] if columns and columns[-1].index == b else None
        if c is None:
            columns.append(Column(b, t_first, t_last, present, p_first, p_last, vmin, vmax, zs or 0))
            continue
        c.first, c.last, c.present, c.nonpositive = (
            min(c.first, t_first),
            max(c.last, t_last),
            c.present + present,
            c.nonpositive + (zs or 0),
        )
        c.present_first = min((x for x in (c.present_first, p_first) if x is not None), default=None)
        c.present_last = max((x for x in (c.present_last, p_last) if x is not None), default=None)
        c.low = min((x for x in (c.low, vmin) if x is not None), default=None)
        c.high = max((x for x in (c.high, vmax) if x is not None), default=None)
    return columns


def _qualified_columns(buckets: list[tuple]) -> list[Mark]:
    """Runs of neighbouring pixel columns holding values with qualifiers: from the first such value of the run's
    first column to the last of its last; the qualifiers seen (the smallest and largest list of each column)."""
    runs: list[Mark] = []
    last_column = None
    for column, *_, qualified, first, last, low, high in buckets:  # the last five of each bucket
        if not qualified:
            continue
        codes = [code for text in (low, high) if text for code in _codes(text)]
        run = runs[-1] if runs else None
        if run is not None and column - last_column <= 1:
            run.start, run.end = min(run.start, first), max(run.end, last)
            run.values += qualified
            run.note = ", ".join(dict.fromkeys([*run.note.split(", "), *codes]))
        else:
            runs.append(Mark("qualified", first, last, qualified, note=", ".join(dict.fromkeys(codes))))
        last_column = column
    return runs


def _codes(text: str | list) -> list[str]:
    value = json.loads(text) if isinstance(text, str) else text
    return [str(code) for code in value] if isinstance(value, list) else []

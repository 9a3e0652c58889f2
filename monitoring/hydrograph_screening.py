"""What the hydrograph marks besides the line: gaps and screening flags over the chart's range, read in one pass.

The rules are monitoring.quality's (its module docstring; thresholds: `Thresholds.from_settings()`), but the chart
does not call `series_quality()`: that one adds the month and qualifier tallies and reads every row of the range
(about 180 ms for a year of 5-minute values, against 80 ms for the whole chart). This is one window pass over the
present values of the range, in the order of the (series, time) index, that returns only the rows where something
starts or ends: a step that holds a gap, the first and last row of a run of one repeated value or of negative
values, a spike, and the range's first and last present value; on a reduced chart, only over the pixel columns
that can hold a mark. Python pairs the starts with the ends.

Where it differs from `series_quality()`, by design:
- the range is the chart's (the station's local days for continuous values), not whole UTC days;
- intervals are the smallest of a row's last three steps between *present* values (the quality module counts
  stored nulls as steps too): the two agree unless most values of a stretch are null;
- a run's length is last − first + the smaller interval of its two ends (the quality module: of all its rows).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from django.db import connection

from acquisition.models import ContinuousValue, DailyValue
from acquisition.quality_sql import least, spike_sql
from stations.models import TimeSeries

from .export import Column
from .hydrograph_mark_drawing import Mark
from .quality import Thresholds

DAY = 86400.0
UNKNOWN_INTERVAL = 900.0  # seconds: a lone value has no step to judge by; USGS's usual 15 minutes (as quality)


@dataclass
class Screening:
    gaps: list[Mark] = field(default_factory=list)
    flags: list[Mark] = field(default_factory=list)  # negative, zero, flat and spike, oldest first


def _epoch(key: str, daily: bool) -> str:
    if connection.vendor == "postgresql":
        return f"date_part('epoch', {key})"
    if daily:
        return f"((julianday({key}) - 2440587.5) * 86400.0)"
    return f"CAST(strftime('%%s', {key}) AS REAL)"


def _sql(daily: bool, th: Thresholds, slices: int) -> str:
    """The screening pass; with `slices`, over that many disjoint time ranges (two more parameters each), each
    a window partition of its own (no row's neighbour is in another slice)."""
    key = "date" if daily else "time"
    within = partition = ""
    if slices:
        within = "AND (" + " OR ".join([f"({key} >= %s AND {key} < %s)"] * slices) + ")"
        partition = "PARTITION BY CASE " + " ".join(f"WHEN {key} < %s THEN {n}" for n in range(slices)) + " END"
    table = (DailyValue if daily else ContinuousValue)._meta.db_table
    # A step longer than tol intervals breaks a run and may hold a listed gap (quality_sql.events_sql's rule).
    tol = float(th.gap(daily)) + 1.0
    interval = "CAST(86400 AS DOUBLE PRECISION)" if daily else least(["t - pt", "pt - p2", "p2 - p3"])
    next_interval = "CAST(86400 AS DOUBLE PRECISION)" if daily else least(["nt - t", "t - pt", "pt - p2"])
    return f"""
    WITH w AS (
        SELECT t, v, LAG(t) OVER o AS pt, LAG(t, 2) OVER o AS p2, LAG(t, 3) OVER o AS p3, LEAD(t) OVER o AS nt,
               LAG(v) OVER o AS pv, LEAD(v) OVER o AS nv, ROW_NUMBER() OVER o AS n
          FROM (SELECT {key} AS k, {_epoch(key, daily)} AS t, value AS v FROM {table}
                 WHERE series_id = %s AND {key} >= %s AND {key} < %s AND value IS NOT NULL {within}) x
        WINDOW o AS ({partition.replace(key, "k")} ORDER BY k)
    ), s AS (
        SELECT t, v, pt, nt, pv, nv, n, {interval} AS i, {next_interval} AS ni FROM w
    ), j AS (
        SELECT t, v, pt, nt, pv, nv, n, i, ni,
               CASE WHEN pt IS NOT NULL AND t - pt <= {tol} * i THEN 1 ELSE 0 END AS jp,
               CASE WHEN nt IS NOT NULL AND nt - t <= {tol} * ni THEN 1 ELSE 0 END AS jn
          FROM s
    ), m AS (
        SELECT t, v, pt, nt, n, i, ni,
               CASE WHEN jp = 1 AND pv = v THEN 1 ELSE 0 END AS sp,
               CASE WHEN jn = 1 AND nv = v THEN 1 ELSE 0 END AS sn,
               CASE WHEN jp = 1 AND pv < 0 THEN 1 ELSE 0 END AS np,
               CASE WHEN jn = 1 AND nv < 0 THEN 1 ELSE 0 END AS nn,
               CASE WHEN {spike_sql(th, tol)} THEN 1 ELSE 0 END AS spike
          FROM j
    )
    SELECT t, v, pt, n, i, ni, sp, sn, np, nn, spike
      FROM m
     WHERE sp <> sn OR (v = 0 AND sp = 0 AND sn = 0) OR (v < 0 AND np + nn < 2) OR spike = 1
        OR pt IS NULL OR nt IS NULL OR t - pt > {tol} * i
     ORDER BY t
    """  # noqa: S608 - numbers from settings; values are parameters


def _bounds(daily: bool, start: float, end: float) -> list:
    ops = connection.ops
    lo, hi = (dt.datetime.fromtimestamp(x, dt.UTC) for x in (start, end))
    if daily:
        return [ops.adapt_datefield_value(lo.date()), ops.adapt_datefield_value(hi.date())]
    return [ops.adapt_datetimefield_value(lo), ops.adapt_datetimefield_value(hi)]


def screen(
    series: TimeSeries,
    start: float,
    end: float,
    thresholds: Thresholds | None = None,
    slices: list[tuple[float, float]] | None = None,
) -> Screening:
    """Gaps and flags of `series` over [start, end) (epoch seconds; a daily value's time is its day's UTC midnight).

    Gaps are the missing times (first, last, count) of runs of more than the tolerance, the range's edges before
    its first and after its last present value included where the series has a present value beyond that edge
    (nothing before a record's first value or after its newest is missing), as in the quality module; flags
    carry their first and last time and the number of values; a spike, zero or flat line its value. `slices`
    (from `slices_to_read()`): read only these parts of the range, the first and last included."""
    th = thresholds or Thresholds.for_parameter(series.parameter_code)
    daily = series.kind == TimeSeries.Kind.DAILY
    params = [series.pk, *_bounds(daily, start, end)]
    if slices:
        params += [b for lo, hi in slices for b in _bounds(daily, lo, hi)]
        params += [_bounds(daily, hi, hi)[0] for _, hi in slices]
    with connection.cursor() as cursor:
        cursor.execute(_sql(daily, th, len(slices or ())), params)
        rows = cursor.fetchall()
    out = Screening()
    if not rows:
        return out
    gap_slots = th.gap(daily)
    run = negative = None  # where the run being read started: (t, row number, interval, value)
    for t, v, pt, n, i, ni, sp, sn, np_, nn, spike in rows:
        if pt is not None and i:
            _add_gap(out, pt + i, math.floor((t - pt) / i + 0.5) - 1, i, gap_slots)  # SQL's ROUND
        if spike:
            out.flags.append(Mark("spike", t, t, 1, v))
        # A run of one repeated value starts where a row equals the next and not the previous (a lone zero is a
        # run of one) and ends where it equals the previous and not the next; rows inside a run are not read.
        if not sp and (sn or v == 0):
            run = (t, n, i or ni, v)
        if run is not None and not sn and (sp or v == 0):
            first, first_n, first_i, value = run
            unit = min((x for x in (first_i, i or ni) if x), default=0.0)
            kind, needed = ("zero", th.zero(daily)) if value == 0 else ("flat", th.flat(daily))
            if t - first + unit >= needed * (DAY if daily else 1.0):
                out.flags.append(Mark(kind, first, t, n - first_n + 1, value))
            run = None
        if v < 0 and th.negative_is_error:  # not for water temperature in °C (Thresholds.for_parameter)
            if not np_:
                negative = (t, n)
            if not nn and negative is not None:
                out.flags.append(Mark("negative", negative[0], t, n - negative[1] + 1))
                negative = None
    lo, hi = (dt.datetime.fromtimestamp(x, dt.UTC) for x in (start, end))
    if daily:
        lo, hi = lo.date(), hi.date()
    values = series.daily_values if daily else series.continuous_values
    key = "date" if daily else "time"
    present = values.filter(value__isnull=False)
    lead = present.filter(**{f"{key}__lt": lo}).exists()
    trail = present.filter(**{f"{key}__gte": hi}).exists()
    _edges(out, rows, start, end, daily, gap_slots, lead, trail)
    out.gaps.sort(key=lambda m: m.start)
    out.flags.sort(key=lambda m: (m.start, m.kind))
    return out


MAX_SLICES = 100


def slices_to_read(
    columns: list[Column], column_seconds: float, daily: bool, thresholds: Thresholds | None = None
) -> list[tuple[float, float]] | None:
    """The parts of a reduced chart's range the screening pass must read, from what the database said of each
    pixel column (`export.Column`), or None for all of it. A column can be left out when nothing in it can be
    flagged: no value <= 0 (negative, zero); no value `factor` times above or below the values of its neighbour
    columns (spike); not one value throughout while a flat line spans more than two columns (flat; where it can
    fit into two, every column is read); values spaced evenly at the range's usual interval, and no longer step
    to the next column (gaps). A column read brings its neighbours (the far ends of runs, the steps before a
    value), and the range's first and last columns (its edges) are always read."""
    th = thresholds or Thresholds.from_settings()
    flat = th.flat(daily) * (DAY if daily else 1.0)
    if len(columns) < 3 or flat < 2 * column_seconds:
        return None
    steps = [
        (c.present_last - c.present_first) / (c.present - 1) for c in columns if c.present >= 2 and c.present_first
    ]
    usual = DAY if daily else min(steps, default=0.0)
    even = sum(1 for step in steps if step <= usual * (1 + 1e-6))
    if not usual or even < len(columns) / 4:  # no usual interval to judge by: read everything
        return None
    factor, read = th.spike_factor, set()
    for n, c in enumerate(columns):
        near = columns[max(n - 1, 0) : n + 2]
        lows = [x.low for x in near if x.low is not None]
        highs = [x.high for x in near if x.high is not None]
        step = (c.present_last - c.present_first) / (c.present - 1) if c.present >= 2 else math.inf
        after = columns[n + 1] if n + 1 < len(columns) else None
        jump = (
            after is not None
            and after.present_first is not None
            and c.present_last is not None
            and after.present_first - c.present_last > 1.5 * usual
        )
        if (
            c.nonpositive
            or c.present < 2
            or step > usual * (1 + 1e-6)
            or jump
            or c.low is None
            or c.low == c.high
            or (lows and c.high > factor * min(lows))
            or (highs and c.low * factor < max(highs))
        ):
            read.update((n - 1, n, n + 1) if not jump else (n - 1, n, n + 1, n + 2))
    read.update((0, 1, len(columns) - 2, len(columns) - 1))
    picked = sorted(n for n in read if 0 <= n < len(columns))
    if len(picked) > len(columns) / 2:
        return None
    slices: list[tuple[float, float]] = []
    previous = None
    for n in picked:
        # Bounds half a second around the stored times (a daily value's day: to the next midnight).
        lo, hi = columns[n].first - (0 if daily else 0.5), columns[n].last + (DAY if daily else 0.5)
        if previous is not None and n == previous + 1:
            slices[-1] = (slices[-1][0], hi)
        else:
            slices.append((lo, hi))
        previous = n
    return slices if len(slices) <= MAX_SLICES else None


def _edges(
    out: Screening, rows: list, start: float, end: float, daily: bool, gap_slots: float, lead: bool, trail: bool
) -> None:
    """The range before its first present value and after its last one is missing too, where the record goes on
    beyond that edge (`lead`, `trail`: a present value lies before the range, after it)."""
    first, last = rows[0], rows[-1]
    lead_i = DAY if daily else (first[5] or UNKNOWN_INTERVAL)  # the first value's next step
    trail_i = DAY if daily else (last[4] or UNKNOWN_INTERVAL)  # the last value's smallest recent step
    lead = math.floor((first[0] - start) / lead_i + 1e-9) if lead else 0
    if lead > 0:
        _add_gap(out, first[0] - lead * lead_i, lead, lead_i, gap_slots)
    trail = math.ceil((end - last[0]) / trail_i - 1e-9) - 1 if trail else 0
    if trail > 0:
        _add_gap(out, last[0] + trail_i, trail, trail_i, gap_slots)


def _add_gap(out: Screening, first_missing: float, slots: int, interval: float, gap_slots: float) -> None:
    if slots > gap_slots:
        out.gaps.append(Mark("gap", first_missing, first_missing + (slots - 1) * interval, slots))

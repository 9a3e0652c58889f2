"""The quality of a stored series, computed in the database: completeness, gaps, approval and qualifier shares, and
screening flags (DESIGN.md §11).

Time is a number in the SQL: days since 1970-01-01 for a daily series (its local calendar days), seconds since the
epoch for a continuous one (UTC). Completeness counts slots: a present value (not null) fills one; the slots
between two present values `a` and `b` are `round((b - a) / interval) - 1` missing ones, so a null value is
missing and so is a time with no row. The interval is one day for daily values; for continuous values it is
detected per row as the smallest of its last three steps between stored times (its own and two before; a null
value's time is a step, so nulls count as missing however often they come) — so a record that changes from 15 to
5 minutes is judged against 15 minutes up to the change and 5 minutes after it.
Months are calendar months (UTC for continuous values); water years run October–September, named by the year
they end in.

The database returns the month counts, the qualifier counts and one row per "event" (window functions over the
series, the same SQL on PostgreSQL and SQLite): every step between present values with a missing slot, and the
screening flags. A window pass over the present values finds the candidates, a last one over the few candidates
numbers the runs (see `events_sql`). Python only spreads a long gap's missing slots over the months it crosses,
and sorts.

Screening rules (thresholds: settings.QUALITY_*, shown on the pages):
- gap: more than QUALITY_GAP_DAILY_DAYS days / QUALITY_GAP_CONTINUOUS_INTERVALS intervals missing in a row;
- negative: a run of consecutive values below zero;
- zero: a run of zeros lasting QUALITY_ZERO_DAILY_DAYS days / QUALITY_ZERO_CONTINUOUS_HOURS hours or more;
- flat: one non-zero value repeated (two values or more) for QUALITY_FLAT_DAILY_DAYS days /
  QUALITY_FLAT_CONTINUOUS_HOURS hours or more (a run's length is last - first + one interval; a gap ends a run);
- spike: a value more than QUALITY_SPIKE_FACTOR (3) times both present neighbours, or below 1/factor of both,
  differing from the nearer one by QUALITY_SPIKE_MIN_JUMP (1 ft³/s) or more, with neither neighbour across a
  gap: a jump that returns at once. A flood rises over several values and recedes slowly, so it is not flagged.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction

from acquisition.models import ContinuousValue, DailyValue
from stations.models import TimeSeries

EPOCH = dt.date(1970, 1, 1)
INTERVAL_WINDOW = 3  # steps before a row (its own included) whose smallest is its interval
MONTHS = (10, 11, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9)  # a water year's months in order


@dataclass(frozen=True)
class Thresholds:
    gap_daily_days: int
    gap_continuous_intervals: int
    flat_daily_days: int
    flat_continuous_hours: int
    zero_daily_days: int
    zero_continuous_hours: int
    spike_factor: float
    spike_min_jump: float

    @classmethod
    def from_settings(cls) -> Thresholds:
        return cls(
            settings.QUALITY_GAP_DAILY_DAYS,
            settings.QUALITY_GAP_CONTINUOUS_INTERVALS,
            settings.QUALITY_FLAT_DAILY_DAYS,
            settings.QUALITY_FLAT_CONTINUOUS_HOURS,
            settings.QUALITY_ZERO_DAILY_DAYS,
            settings.QUALITY_ZERO_CONTINUOUS_HOURS,
            settings.QUALITY_SPIKE_FACTOR,
            settings.QUALITY_SPIKE_MIN_JUMP,
        )

    def gap(self, daily: bool) -> float:
        """Missing span (in intervals) beyond which a run of missing slots is a gap."""
        return self.gap_daily_days if daily else self.gap_continuous_intervals

    def flat(self, daily: bool) -> float:  # in the series' time unit (days / seconds)
        return self.flat_daily_days if daily else self.flat_continuous_hours * 3600

    def zero(self, daily: bool) -> float:
        return self.zero_daily_days if daily else self.zero_continuous_hours * 3600


@dataclass
class Month:
    water_year: int
    month: int
    expected: int = 0
    present: int = 0

    @property
    def percent(self) -> float | None:
        return None if not self.expected else 100.0 * self.present / self.expected


def label(t: dt.date | dt.datetime) -> str:
    """A day as YYYY-MM-DD, an instant as YYYY-MM-DD HH:MM UTC."""
    return f"{t:%Y-%m-%d %H:%M} UTC" if isinstance(t, dt.datetime) else t.isoformat()


class _Labels:
    @property
    def start_label(self) -> str:
        return label(self.start)

    @property
    def end_label(self) -> str:
        return label(self.end)


@dataclass
class Gap(_Labels):
    start: dt.date | dt.datetime  # the first missing time
    end: dt.date | dt.datetime  # the last missing time
    missing: int  # slots
    length: dt.timedelta


@dataclass
class Flag(_Labels):
    kind: str  # negative | zero | flat | spike
    start: dt.date | dt.datetime
    end: dt.date | dt.datetime
    values: int
    value: float | None


@dataclass
class Quality:
    series: TimeSeries
    start: dt.date
    end: dt.date
    thresholds: Thresholds
    stored: int = 0
    present: int = 0
    expected: int = 0
    approved: int = 0
    provisional: int = 0
    months: dict[tuple[int, int], Month] = field(default_factory=dict)  # (water year, month)
    gaps: list[Gap] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    qualifiers: dict[str, int] = field(default_factory=dict)
    intervals: list[int] = field(default_factory=list)  # continuous: the intervals seen (minutes)

    @property
    def daily(self) -> bool:
        return self.series.kind == TimeSeries.Kind.DAILY

    @property
    def percent(self) -> float | None:
        return None if not self.expected else 100.0 * self.present / self.expected

    def share(self, count: int) -> float | None:
        return None if not self.present else 100.0 * count / self.present

    @property
    def qualifier_shares(self) -> list[tuple[str, int, float]]:
        return sorted(((q, n, self.share(n)) for q, n in self.qualifiers.items()), key=lambda x: -x[1])

    @property
    def water_years(self) -> list[int]:
        return sorted({wy for wy, _ in self.months})


# --- SQL, per vendor ----------------------------------------------------------------------------------------


def sql_parts(daily: bool) -> dict[str, str]:
    key = "date" if daily else "time"
    if connection.vendor == "postgresql":
        # date_part, not EXTRACT: EXTRACT computes a numeric, about twice the cost over 100,000 rows.
        t = f"({key} - DATE '1970-01-01')" if daily else f"date_part('epoch', {key})"
        local = f"{key}::timestamp" if daily else f"({key} AT TIME ZONE 'UTC')"
        month_key = f"date_trunc('month', {local})"
        year, month = "date_part('year', m)::int", "date_part('month', m)::int"
        quals = "jsonb_array_elements_text(v.qualifiers) AS q(q)"
        qcol, has_quals = "q.q", "v.qualifiers <> '[]'::jsonb"
    else:
        t = f"CAST(julianday({key}) - 2440587.5 AS INTEGER)" if daily else f"CAST(strftime('%%s', {key}) AS INTEGER)"
        month_key = f"strftime('%%Y-%%m', {key})"
        year, month = "CAST(substr(m, 1, 4) AS INTEGER)", "CAST(substr(m, 6, 2) AS INTEGER)"
        quals = "json_each(v.qualifiers) AS q"
        qcol, has_quals = "q.value", "v.qualifiers <> '[]'"
    table = (DailyValue if daily else ContinuousValue)._meta.db_table
    # PostgreSQL: OFFSET 0 keeps a subquery from being merged into its parent, so `t` is computed once a row
    # rather than once for each window function that reads it.
    fence = "OFFSET 0" if connection.vendor == "postgresql" else ""
    return {
        "fence": fence,
        "key": key,
        "t": t,
        "month_key": month_key,
        "year": year,
        "month": month,
        "quals": quals,
        "qcol": qcol,
        "has_quals": has_quals,
        "table": table,
    }


def sql_bounds(daily: bool, start: dt.date, end: dt.date) -> list:
    ops = connection.ops
    if daily:
        return [ops.adapt_datefield_value(start), ops.adapt_datefield_value(end)]
    lo = dt.datetime.combine(start, dt.time(0), tzinfo=dt.UTC)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC) - dt.timedelta(microseconds=1)
    return [ops.adapt_datetimefield_value(lo), ops.adapt_datetimefield_value(hi)]


def events_sql(daily: bool, series_ids: list[int], th: Thresholds) -> str:
    """One row per event of the series `series_ids` in [%s, %s]: (kind, series_id, start t, end t, count, value,
    interval). `gap` rows are every step between present values with at least one missing slot (count: slots).

    Continuous values get their interval from a window pass over the stored rows (a null is a missing slot, so its
    time is a step); then one window pass over the present values gives each its neighbours (in index order: no
    sort for one series); only the few rows that can be part of an event (a missing slot before them, a neighbour
    of the same value, zero or negative, a spike) go on to a small last pass that numbers the runs of equal and of
    negative values."""
    p = sql_parts(daily)
    ids = ", ".join(str(int(i)) for i in series_ids)
    part = "PARTITION BY series_id" if len(series_ids) > 1 else ""  # one series: the index order is the order
    tol = float(th.gap(daily)) + 1.0  # a step longer than (tolerance + 1) intervals holds a listed gap
    flat, zero = float(th.flat(daily)), float(th.zero(daily))
    spike = spike_sql(th, tol)
    rows = f"""(SELECT series_id, {p["key"]} AS k, {p["t"]} AS t, value AS v
                  FROM {p["table"]}
                 WHERE series_id IN ({ids}) AND {p["key"]} BETWEEN %s AND %s {p["fence"]}) AS stored"""
    if daily:
        stored = f"(SELECT series_id, k, t, v, 1 AS i FROM {rows} WHERE v IS NOT NULL) AS present"
    else:
        # The interval: the smallest of the row's last INTERVAL_WINDOW steps between stored times.
        stored = f"""(SELECT series_id, k, t, v, {least(["t - s1", "s1 - s2", "s2 - s3"])} AS i
                  FROM (SELECT series_id, k, t, v, LAG(t) OVER w AS s1, LAG(t, 2) OVER w AS s2,
                               LAG(t, 3) OVER w AS s3
                          FROM {rows}
                        WINDOW w AS ({part} ORDER BY k) {p["fence"]}) AS lagged
                 WHERE v IS NOT NULL) AS present"""
    return f"""
    WITH pres AS (
        SELECT series_id, k, t, v, i, LAG(t) OVER w AS pt, LEAD(t) OVER w AS nt, LAG(v) OVER w AS pv,
               LEAD(v) OVER w AS nv
          FROM {stored}
        WINDOW w AS ({part} ORDER BY k)
    ), cand AS (
        SELECT series_id, k, t, v, i, pt, pv,
               CASE WHEN pt IS NOT NULL AND t - pt >= 1.5 * i THEN 1 ELSE 0 END AS gap,
               CASE WHEN {spike} THEN 1 ELSE 0 END AS spike,
               CASE WHEN pt IS NOT NULL AND t - pt <= {tol} * i THEN 1 ELSE 0 END AS near
          FROM pres
         WHERE v = pv OR v = nv OR v <= 0 OR (pt IS NOT NULL AND t - pt >= 1.5 * i) OR {spike}
    ), runs AS (
        SELECT series_id, t, v, i, pt, gap, spike,
               SUM(CASE WHEN near = 1 AND v = pv THEN 0 ELSE 1 END)
                   OVER (PARTITION BY series_id ORDER BY k ROWS UNBOUNDED PRECEDING) AS vgrp,
               SUM(CASE WHEN near = 1 AND v < 0 AND pv < 0 THEN 0 ELSE 1 END)
                   OVER (PARTITION BY series_id ORDER BY k ROWS UNBOUNDED PRECEDING) AS ngrp
          FROM cand
    )
    SELECT 'gap', series_id, pt, t, CAST(ROUND(1.0 * (t - pt) / i) AS INTEGER) - 1, NULL, i FROM runs WHERE gap = 1
    UNION ALL
    SELECT CASE WHEN MIN(v) = 0 THEN 'zero' ELSE 'flat' END, series_id, MIN(t), MAX(t), COUNT(*), MIN(v), MIN(i)
      FROM runs GROUP BY series_id, vgrp
    HAVING (MIN(v) = 0 AND MAX(t) - MIN(t) + MIN(i) >= {zero})
        OR (MIN(v) <> 0 AND COUNT(*) >= 2 AND MAX(t) - MIN(t) + MIN(i) >= {flat})
    UNION ALL
    SELECT 'negative', series_id, MIN(t), MAX(t), COUNT(*), MIN(v), MIN(i)
      FROM runs WHERE v < 0 GROUP BY series_id, ngrp
    UNION ALL
    SELECT 'spike', series_id, t, t, 1, v, i FROM runs WHERE spike = 1
    """


def spike_sql(th: Thresholds, tol: float) -> str:
    """The spike rule as an SQL condition over a row's v, t, its interval i and its neighbours pv, nv, pt, nt.

    The arithmetic on values is guarded: PostgreSQL raises on a float overflow (1.79e308 × 3, or 1.79e308 minus
    -1.79e308), and a stored value can be anything a hostile upstream sent; a value beyond ±1e300 (or infinite, or
    NaN) is no spike's value or neighbour. The factor is at least 1 (settings), so no product of a non-zero value
    underflows to zero either."""
    factor, jump = float(th.spike_factor), float(th.spike_min_jump)
    hi = "CASE WHEN pv > nv THEN pv ELSE nv END"
    lo = "CASE WHEN pv < nv THEN pv ELSE nv END"
    return f"""(CASE WHEN pv > 0 AND nv > 0 AND t - pt <= {tol} * i AND nt - t <= {tol} * i
                     AND ABS(v) <= 1e300 AND pv <= 1e300 AND nv <= 1e300
                THEN ((v > {factor} * {hi} AND v - {hi} >= {jump}) OR (v * {factor} < {lo} AND {lo} - v >= {jump}))
                ELSE {"FALSE" if connection.vendor == "postgresql" else "0"} END)"""


def run_events(cursor, sql: str, params: list) -> list[tuple]:
    """Run an events query (in a transaction of its own on PostgreSQL, with `tuned`'s settings)."""
    with tuned(cursor):
        cursor.execute(sql, params)
        return cursor.fetchall()


@contextmanager
def tuned(cursor):
    """On PostgreSQL, a transaction with room to sort in memory (a year of 5-minute values spills to disk at the
    default 4 MB) and no JIT: the planner overestimates the qualifier unnesting by a hundredfold and then spends
    more compiling the query than running it. SET LOCAL: only for this transaction."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        cursor.execute("SET LOCAL work_mem = '64MB'; SET LOCAL jit = off")
        yield


def least(terms: list[str]) -> str:
    """The smallest non-null of `terms` (PostgreSQL's LEAST and SQLite's MIN(a, b, …) treat nulls differently)."""
    if connection.vendor == "postgresql":
        return f"LEAST({', '.join(terms)})"
    return f"NULLIF(MIN({', '.join(f'COALESCE({term}, 1e18)' for term in terms)}), 1e18)"


def _month_sql(daily: bool) -> str:
    p = sql_parts(daily)
    return f"""
    SELECT {p["year"]}, {p["month"]}, stored, present, approved, provisional FROM (
        SELECT {p["month_key"]} AS m, COUNT(*) AS stored, COUNT(value) AS present,
               SUM(CASE WHEN value IS NOT NULL AND approval_status = 'Approved' THEN 1 ELSE 0 END) AS approved,
               SUM(CASE WHEN value IS NOT NULL AND approval_status = 'Provisional' THEN 1 ELSE 0 END) AS provisional
          FROM {p["table"]} WHERE series_id = %s AND {p["key"]} BETWEEN %s AND %s
         GROUP BY 1
    ) AS months
    """


def _qualifier_sql(daily: bool) -> str:
    p = sql_parts(daily)
    return f"""
    SELECT {p["qcol"]}, COUNT(*) FROM {p["table"]} v, {p["quals"]}
     WHERE v.series_id = %s AND v.{p["key"]} BETWEEN %s AND %s AND v.value IS NOT NULL AND {p["has_quals"]}
     GROUP BY 1
    """


def _edges_sql(daily: bool) -> str:
    """The first and the last present value's time: two index probes, not a scan."""
    p = sql_parts(daily)
    one = (
        f"SELECT {p['t']} FROM {p['table']} WHERE series_id = %s AND {p['key']} BETWEEN %s AND %s AND value IS NOT NULL"
    )
    return f"SELECT ({one} ORDER BY {p['key']} LIMIT 1), ({one} ORDER BY {p['key']} DESC LIMIT 1)"


# --- Times -------------------------------------------------------------------------------------------------


def to_time(t: float, daily: bool) -> dt.date | dt.datetime:
    if daily:
        return EPOCH + dt.timedelta(days=int(round(t)))
    return dt.datetime.fromtimestamp(round(t), dt.UTC)


def _t_of_month(year: int, month: int, daily: bool) -> float:
    first = dt.date(year, month, 1)
    if daily:
        return (first - EPOCH).days
    return dt.datetime.combine(first, dt.time(0), tzinfo=dt.UTC).timestamp()


def water_year(year: int, month: int) -> int:
    return year + 1 if month >= 10 else year


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _spread(missing: dict, prev_t: float, t: float, interval: float, slots: int, daily: bool) -> None:
    """Add the `slots` missing times prev_t + k·interval (k = 1 … slots) to the months they fall in."""
    first, last = to_time(prev_t + interval, daily), to_time(prev_t + slots * interval, daily)
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        ny, nm = _next_month(year, month)
        lo = max(1, math.ceil((_t_of_month(year, month, daily) - prev_t) / interval))
        hi = min(slots, math.ceil((_t_of_month(ny, nm, daily) - prev_t) / interval) - 1)
        if hi >= lo:
            missing[(year, month)] += hi - lo + 1
        year, month = ny, nm


def _interval_near(series: TimeSeries, at: dt.datetime, before: bool) -> float | None:
    """Continuous: the interval (seconds) of the stored times nearest `at`, on one side."""
    values = series.continuous_values
    rows = values.filter(time__lt=at).order_by("-time") if before else values.filter(time__gte=at).order_by("time")
    times = list(rows.values_list("time", flat=True)[: INTERVAL_WINDOW + 1])
    steps = [abs((a - b).total_seconds()) for a, b in zip(times, times[1:], strict=False)]
    return min(steps) if steps else None


# --- The computation ---------------------------------------------------------------------------------------


def extent(series: TimeSeries) -> tuple[dt.date, dt.date] | None:
    """First and last stored day of the series, or None when nothing is stored."""
    values = series.daily_values if series.kind == TimeSeries.Kind.DAILY else series.continuous_values
    key = "date" if series.kind == TimeSeries.Kind.DAILY else "time"
    first = values.order_by(key).values_list(key, flat=True).first()
    if first is None:
        return None
    last = values.order_by(f"-{key}").values_list(key, flat=True).first()
    if key == "time":
        return first.astimezone(dt.UTC).date(), last.astimezone(dt.UTC).date()
    return first, last


def series_quality(series: TimeSeries, start: dt.date, end: dt.date, thresholds: Thresholds | None = None) -> Quality:
    """The quality of `series` over the days [start, end] (UTC days for continuous values)."""
    th = thresholds or Thresholds.from_settings()
    daily = series.kind == TimeSeries.Kind.DAILY
    q = Quality(series, start, end, th)
    bounds = sql_bounds(daily, start, end)
    present_by_month: dict[tuple[int, int], int] = {}
    with connection.cursor() as cursor, tuned(cursor):
        cursor.execute(_month_sql(daily), [series.pk, *bounds])
        for year, month, stored, present, approved, provisional in cursor.fetchall():
            present_by_month[(year, month)] = present or 0
            q.stored += stored
            q.present += present or 0
            q.approved += approved or 0
            q.provisional += provisional or 0
        if not q.present:
            _fill_months(q, present_by_month, defaultdict(int), daily, empty=True)
            return q
        cursor.execute(_qualifier_sql(daily), [series.pk, *bounds])
        q.qualifiers = dict(cursor.fetchall())
        cursor.execute(events_sql(daily, [series.pk], th), bounds)
        events = cursor.fetchall()
        cursor.execute(_edges_sql(daily), [series.pk, *bounds, series.pk, *bounds])
        first_t, last_t = cursor.fetchone()
    missing: dict[tuple[int, int], int] = defaultdict(int)
    intervals: set[int] = set()
    for kind, _, a, b, n, value, interval in events:
        if not daily and interval:
            intervals.add(round(interval / 60))
        if kind == "gap":
            _spread(missing, a, b, interval, n, daily)
            _add_gap(q, a + interval, n, interval, daily)
        else:
            q.flags.append(Flag(kind, to_time(a, daily), to_time(b, daily), n, value))
    _edges(q, missing, daily, first_t, last_t)
    q.intervals = sorted(intervals)
    _fill_months(q, present_by_month, missing, daily)
    q.gaps.sort(key=lambda g: g.start)
    q.flags.sort(key=lambda f: (f.start, f.kind))
    return q


def _edges(q: Quality, missing: dict, daily: bool, first_t: float, last_t: float) -> None:
    """The range's start before the first present value and its end after the last one are missing too."""
    lo = _t_of_day(q.start, daily)
    hi = _t_of_day(q.end + dt.timedelta(days=1), daily)  # exclusive
    if daily:
        lead_i = trail_i = 1.0
    else:
        at_first, at_last = to_time(first_t, False), to_time(last_t, False)
        lead_i = _interval_near(q.series, at_first, before=False) or 900.0
        trail_i = _interval_near(q.series, at_last + dt.timedelta(seconds=1), before=True) or 900.0
    lead = math.floor((first_t - lo) / lead_i + 1e-9)
    if lead > 0:
        _spread(missing, first_t - (lead + 1) * lead_i, first_t, lead_i, lead, daily)
        _add_gap(q, first_t - lead * lead_i, lead, lead_i, daily)
    trail = math.ceil((hi - last_t) / trail_i - 1e-9) - 1
    if trail > 0:
        _spread(missing, last_t, last_t + (trail + 1) * trail_i, trail_i, trail, daily)
        _add_gap(q, last_t + trail_i, trail, trail_i, daily)


def _add_gap(q: Quality, first_missing: float, slots: int, interval: float, daily: bool) -> None:
    """List `slots` missing times from `first_missing` on as a gap if they are more than the tolerance."""
    if slots > q.thresholds.gap(daily):
        unit = dt.timedelta(days=1) if daily else dt.timedelta(seconds=interval)
        last = first_missing + (slots - 1) * interval
        q.gaps.append(Gap(to_time(first_missing, daily), to_time(last, daily), slots, slots * unit))


def _t_of_day(day: dt.date, daily: bool) -> float:
    if daily:
        return (day - EPOCH).days
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC).timestamp()


def _fill_months(q: Quality, present: dict, missing: dict, daily: bool, empty: bool = False) -> None:
    """Every month of the range, present and expected (present + missing) values in each."""
    year, month = q.start.year, q.start.month
    while (year, month) <= (q.end.year, q.end.month):
        p = present.get((year, month), 0)
        m = missing.get((year, month), 0)
        if empty:
            first = max(q.start, dt.date(year, month, 1))
            ny, nm = _next_month(year, month)
            last = min(q.end, dt.date(ny, nm, 1) - dt.timedelta(days=1))
            m = (last - first).days + 1 if daily else 0  # continuous with no values: no interval to judge by
        q.months[(water_year(year, month), month)] = Month(water_year(year, month), month, p + m, p)
        q.expected += p + m
        year, month = _next_month(year, month)

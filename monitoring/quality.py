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

The database returns the month and qualifier counts (one scan) and one row per "event" (window functions over the
series, the same SQL on PostgreSQL and SQLite): every step between present values with a missing slot, and the
screening flags. One window pass gives each present value its neighbours (continuous values: over the stored rows,
which also gives the intervals) and finds the candidates, a last one over the few candidates numbers the runs (see
`quality_sql.events_sql`). Python only spreads a long gap's missing slots over the months it crosses, and sorts.

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
import functools
import math
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

from stations.models import TimeSeries

from .quality_sql import INTERVAL_WINDOW, edges_sql, events_sql, sql_bounds, tallies_sql, tuned

EPOCH = dt.date(1970, 1, 1)
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


# --- Times -------------------------------------------------------------------------------------------------


def to_time(t: float, daily: bool) -> dt.date | dt.datetime:
    if daily:
        return EPOCH + dt.timedelta(days=int(round(t)))
    return dt.datetime.fromtimestamp(round(t), dt.UTC)


@functools.cache  # a year of 5-minute values with frequent nulls spreads ~1,000 gaps over its 13 months
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
    first = to_time(prev_t + interval, daily)
    last = first if slots == 1 else to_time(prev_t + slots * interval, daily)
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
        cursor.execute(tallies_sql(daily), [series.pk, *bounds])
        for year, month, stored, present, approved, provisional, qualifier in cursor.fetchall():
            if year is None:
                q.qualifiers[qualifier] = present
                continue
            present_by_month[(year, month)] = present or 0
            q.stored += stored
            q.present += present or 0
            q.approved += approved or 0
            q.provisional += provisional or 0
        if not q.present:
            _fill_months(q, present_by_month, defaultdict(int), daily, empty=True)
            return q
        cursor.execute(events_sql(daily, [series.pk], th), bounds)
        events = cursor.fetchall()
        cursor.execute(edges_sql(daily), [series.pk, *bounds, series.pk, *bounds])
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

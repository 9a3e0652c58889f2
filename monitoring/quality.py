"""The quality of a stored series: completeness, gaps, approval and qualifier shares, and screening flags
(DESIGN.md §11), read from the quality tallies kept at commit time (acquisition/tallies.py, which holds the rules
of completeness) or, for a range the tallies do not answer, computed from the values the same way.

Days and months are the station's (its zone; a daily value's date already is). A present value (not null) fills
one slot; the slots between two present values are missing; nothing before a series' first present value or after
its newest is missing (the silence after the newest is the stale alert's, not a gap). The interval is one day for
daily values; for continuous values it is detected per row as the smallest of its last three steps between stored
times, so a record that changes from 15 to 5 minutes is judged against each. Water years run October–September,
named by the year they end in.

Screening rules (thresholds: settings.QUALITY_*, shown on the pages; the SQL: acquisition/quality_sql.py):
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
from dataclasses import dataclass, field

from django.db.models import Q

from acquisition.quality_sql import Thresholds
from acquisition.tallies import Clock, measure
from acquisition.tally_models import QualityEvent, QualityMonth
from stations.models import TimeSeries

__all__ = ["MONTHS", "Quality", "Thresholds", "extent", "series_quality", "water_year"]

EPOCH = dt.date(1970, 1, 1)
MONTHS = (10, 11, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9)  # a water year's months in order


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
    """A day as YYYY-MM-DD, an instant as YYYY-MM-DD HH:MM and its zone's abbreviation (the station's: EST)."""
    return f"{t:%Y-%m-%d %H:%M} {t:%Z}" if isinstance(t, dt.datetime) else t.isoformat()


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


def water_year(year: int, month: int) -> int:
    return year + 1 if month >= 10 else year


# --- Reading ---------------------------------------------------------------------------------------------------


def extent(series: TimeSeries) -> tuple[dt.date, dt.date] | None:
    """The station's days of the series' first and newest present value, or None when none is stored."""
    clock = Clock.of(series)
    months = QualityMonth.objects.filter(series=series, first_t__isnull=False)
    first, last = months.order_by("month").first(), months.order_by("-month").first()
    if first is not None:
        return _date(clock, first.first_t), _date(clock, last.last_t)
    values = series.daily_values if clock.daily else series.continuous_values
    key = "date" if clock.daily else "time"
    present = values.filter(value__isnull=False)
    first_key = present.order_by(key).values_list(key, flat=True).first()
    if first_key is None:
        return None
    last_key = present.order_by(f"-{key}").values_list(key, flat=True).first()
    return _date(clock, clock.t(first_key)), _date(clock, clock.t(last_key))


def _date(clock: Clock, t: float) -> dt.date:
    return EPOCH + dt.timedelta(days=clock.day(t))


def series_quality(series: TimeSeries, start: dt.date, end: dt.date, thresholds: Thresholds | None = None) -> Quality:
    """The quality of `series` over the station's days [start, end]: from the stored tallies where they answer
    (whole months, or the record's own ends, with the settings' thresholds), else computed from the values."""
    own = Thresholds.for_parameter(series.parameter_code)  # the tallies were kept with the parameter's rules
    th = thresholds or own
    clock = Clock.of(series)
    lo, hi = clock.day_start((start - EPOCH).days), clock.day_start((end - EPOCH).days + 1)
    tallied = _tallied(series, clock, start, end) if th == own else None
    if tallied is not None:
        months, events = tallied
    else:
        found = measure(series, lo, hi, th, clock)
        months, events = found.months(series.pk), found.events
    return _quality(series, clock, start, end, th, months, events, lo, hi)


def _tallied(series: TimeSeries, clock: Clock, start: dt.date, end: dt.date):
    """The month rows and events of [start, end] from the tallies, or None where they cannot answer: no tallies,
    or a range that cuts a month inside the record."""
    rows = list(
        QualityMonth.objects.filter(series=series, month__gte=start.replace(day=1), month__lte=end).order_by("month")
    )
    record = extent(series) if rows else None
    if record is None:
        return None
    cuts_start = start.day != 1 and start > record[0]
    cuts_end = (end + dt.timedelta(days=1)).day != 1 and end < record[1]
    if cuts_start or cuts_end:
        return None
    lo, hi = clock.day_start((start - EPOCH).days), clock.day_start((end - EPOCH).days + 1)
    events = QualityEvent.objects.filter(series=series).filter(
        Q(start_t__gte=lo, start_t__lt=hi) | Q(start_t__lt=lo, end_t__gte=lo)
    )
    return rows, list(events.order_by("start_t", "kind"))


def _quality(series, clock, start, end, th, months: list[QualityMonth], events: list[QualityEvent], lo, hi):
    q = Quality(series, start, end, th)
    daily = clock.daily
    intervals: set[int] = set()
    by_month = {row.month: row for row in months}
    month = start.replace(day=1)
    while month <= end:
        row = by_month.get(month)
        present = expected = 0
        if row is not None:
            for day, (p, m) in enumerate(row.days, start=1):
                if start <= month.replace(day=day) <= end:
                    present, expected = present + p, expected + p + m
            whole = start <= month and _month_end(month) <= end
            if whole:  # parts of months come from `measure`, which counted only the range already
                present, expected = row.present, row.present + row.missing
            q.stored += row.stored
            q.approved += row.approved
            q.provisional += row.provisional
            for name, n in row.qualifiers.items():
                q.qualifiers[name] = q.qualifiers.get(name, 0) + n
            intervals.update(row.intervals)
        wy = water_year(month.year, month.month)
        q.months[(wy, month.month)] = Month(wy, month.month, expected, present)
        q.present += present
        q.expected += expected
        month = dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    tol = th.gap(daily)
    unit = dt.timedelta(days=1) if daily else None
    for e in events:
        if e.kind != QualityEvent.Kind.GAP:
            if e.end_t >= lo and e.start_t < hi:
                q.flags.append(Flag(e.kind, clock.when(e.start_t), clock.when(e.end_t), e.count, e.value))
            continue
        first_k = max(0, math.ceil((lo - e.start_t) / e.interval - 1e-9))
        last_k = min(e.count - 1, math.ceil((hi - e.start_t) / e.interval - 1e-9) - 1)
        slots = last_k - first_k + 1
        if slots > tol:
            length = slots * (unit or dt.timedelta(seconds=e.interval))
            a, b = e.start_t + first_k * e.interval, e.start_t + last_k * e.interval
            q.gaps.append(Gap(clock.when(a), clock.when(b), slots, length))
        if not daily:
            intervals.add(round(e.interval / 60))
    q.intervals = sorted(intervals)
    q.gaps.sort(key=lambda g: g.start)
    q.flags.sort(key=lambda f: (f.start, f.kind))
    return q


def _month_end(month: dt.date) -> dt.date:
    return dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1) - dt.timedelta(days=1)

"""Quality tallies kept up to date as values are committed (DESIGN.md §9, §11), so that a quality page reads a few
rows per month instead of recomputing years of values.

`refresh_tallies(kind, series_pk, low, high)` — the one call the commit makes, inside its transaction, with the
smallest and largest time it wrote or replaced — recomputes the months of the series that [low, high] can have
changed, from the stored values, with set-based SQL (acquisition/quality_sql.py; the same on PostgreSQL and SQLite):
- the month rows (`QualityMonth`): per day of the station's own calendar, present and missing slots; per month,
  stored, approved, provisional, the qualifiers, the first and last present value;
- the events (`QualityEvent`): gaps longer than the tolerance and screening flags, each kept with the month it
  starts in.

What it may have changed reaches beyond [low, high]: the step from the present value before `low` (a gap that a
new value closes, or opens) and to the one after `high`; a run of one value (or of negatives) that crosses a month
edge. So the months recomputed start at the month of the present value before `low` and end at that of the one
after `high`, and grow until no event crosses their edges half-seen (stored or freshly computed).

Rules (monitoring.quality's module docstring has the screening rules): a present value (not null) fills a slot;
the slots between two present values `a` and `b` are `round((b - a) / interval) - 1` missing ones. Nothing before a
series' first present value or after its newest is missing: the record runs from one to the other. Days and months
are the station's (stations.MonitoringLocation.zone; UTC where unknown); a continuous value belongs to the local
day of its instant.

`measure()` is the same computation over any range, stored nowhere: what the pages use for a range the tallies do
not answer (parts of months) or for a series not tallied yet.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Q

from acquisition.quality_sql import Thresholds, day_counts_sql, events_sql, run_events, sql_parts
from acquisition.tally_models import QualityBacklog, QualityEvent, QualityMonth
from stations.models import TimeSeries

EPOCH = dt.date(1970, 1, 1)
UTC = ZoneInfo("UTC")
FIRST_DAY, LAST_DAY = dt.date(1800, 1, 1), dt.date(2200, 1, 1)  # beyond any gage record (the pages' limits)


@dataclass(frozen=True)
class Clock:
    """Time as a number for one series (days since 1970-01-01, or seconds since the epoch), its station's days and
    months, and the keys (date or aware datetime) the SQL compares."""

    daily: bool
    zone: dt.tzinfo = UTC

    @classmethod
    def of(cls, series: TimeSeries) -> Clock:
        return cls(series.kind == TimeSeries.Kind.DAILY, series.location.zone or UTC)

    def t(self, when: dt.date | dt.datetime) -> float:
        if self.daily:
            day = when.astimezone(self.zone).date() if isinstance(when, dt.datetime) else when
            return float((day - EPOCH).days)
        if not isinstance(when, dt.datetime):
            return self.day_start(float((when - EPOCH).days))
        return when.timestamp()

    def key(self, t: float) -> dt.date | dt.datetime:
        if self.daily:
            return EPOCH + dt.timedelta(days=int(round(t)))
        return dt.datetime.fromtimestamp(t, dt.UTC)

    def param(self, t: float):
        """The key of time `t` as a raw SQL parameter (SQLite compares the text Django stores)."""
        ops = connection.ops
        key = self.key(t)
        return ops.adapt_datefield_value(key) if self.daily else ops.adapt_datetimefield_value(key)

    def when(self, t: float) -> dt.date | dt.datetime:
        """A time to show: a date (daily), an instant in the station's zone (continuous)."""
        if self.daily:
            return self.key(t)
        return dt.datetime.fromtimestamp(round(t), self.zone)

    def day(self, t: float) -> int:
        """The station's day number of time `t`."""
        if self.daily:
            return int(math.floor(t + 1e-9))
        return (dt.datetime.fromtimestamp(t, self.zone).date() - EPOCH).days

    def day_start(self, day: float) -> float:
        if self.daily:
            return float(day)
        local = dt.datetime.combine(EPOCH + dt.timedelta(days=int(day)), dt.time(0), tzinfo=self.zone)
        return local.timestamp()

    def month(self, t: float) -> dt.date:
        """The first day of the station's month holding time `t`."""
        return (EPOCH + dt.timedelta(days=self.day(t))).replace(day=1)

    def month_start(self, month: dt.date) -> float:
        return self.day_start((month - EPOCH).days)


def next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + 1, 1, 1) if month.month == 12 else dt.date(month.year, month.month + 1, 1)


@dataclass
class Measure:
    """What `measure` found in [lo, hi): per day [stored, present, approved, provisional, missing, first present
    time, last present time]; per month the qualifiers and intervals; the events that overlap the range (gaps
    unclipped)."""

    clock: Clock
    lo: float
    hi: float
    days: dict[int, list] = field(default_factory=dict)
    qualifiers: dict[dt.date, Counter] = field(default_factory=lambda: defaultdict(Counter))
    intervals: dict[dt.date, set[int]] = field(default_factory=lambda: defaultdict(set))
    events: list[QualityEvent] = field(default_factory=list)

    def _day(self, d: int) -> list:
        return self.days.setdefault(d, [0, 0, 0, 0, 0, None, None])

    def months(self, series_pk: int) -> list[QualityMonth]:
        """The month rows of the range (unsaved), one for every month with a stored value or a missing slot."""
        by_month: dict[dt.date, QualityMonth] = {}
        for d in sorted(self.days):
            stored, present, approved, provisional, missing, first, last = self.days[d]
            day = EPOCH + dt.timedelta(days=d)
            month = day.replace(day=1)
            row = by_month.get(month)
            if row is None:
                length = (next_month(month) - month).days
                row = by_month[month] = QualityMonth(
                    series_id=series_pk, month=month, days=[[0, 0] for _ in range(length)], qualifiers={}
                )
                row.qualifiers = dict(self.qualifiers.get(month, {}))
                row.intervals = sorted(self.intervals.get(month, ()))
            row.stored += stored
            row.present += present
            row.approved += approved
            row.provisional += provisional
            row.missing += missing
            row.days[day.day - 1] = [present, missing]
            if first is not None and (row.first_t is None or first < row.first_t):
                row.first_t = first
            if last is not None and (row.last_t is None or last > row.last_t):
                row.last_t = last
        return [row for row in by_month.values() if row.stored or row.missing]


def measure(series: TimeSeries, lo: float, hi: float, th: Thresholds, clock: Clock | None = None) -> Measure:
    """The quality tallies of `series` over the times [lo, hi) (numbers, see Clock), read from the stored values:
    counts per day, missing slots per day (between present values only), and the events that overlap the range."""
    clock = clock or Clock.of(series)
    daily = clock.daily
    out = Measure(clock, lo, hi)
    with connection.cursor() as cursor:
        stored = _stored_extent(cursor, clock, series.pk, lo, hi)
        if stored is None and not _present_between(cursor, clock, series.pk, lo, hi):
            return out
        sql, params = day_counts_sql(daily, clock.zone, *(stored or (lo, lo)))
        cursor.execute(sql, [*params, series.pk, clock.param(lo), clock.param(hi)])
        for d, quals, first, last, stored, present, approved, provisional in cursor.fetchall():
            row = out._day(int(d))
            row[0] += stored
            row[1] += present or 0
            row[2] += approved or 0
            row[3] += provisional or 0
            if first is not None:
                row[5] = float(first) if row[5] is None else min(row[5], float(first))
                row[6] = float(last) if row[6] is None else max(row[6], float(last))
            if present and quals:
                names = json.loads(quals) if isinstance(quals, str) else quals
                counts = out.qualifiers[(EPOCH + dt.timedelta(days=int(d))).replace(day=1)]
                for name in names:
                    counts[name] += present
        if not any(row[1] for row in out.days.values()) and not _present_between(cursor, clock, series.pk, lo, hi):
            return out  # no present value in the range: nothing is missing in it either unless a gap crosses it
        scan_lo, scan_hi = _scan_bounds(cursor, clock, series.pk, lo, hi, th)
        events = run_events(cursor, events_sql(daily, [series.pk], th), [clock.param(scan_lo), clock.param(scan_hi)])
    tol = th.gap(daily)
    for kind, _, a, b, n, value, interval in events:
        a, b, i = float(a), float(b), float(interval or 1.0)
        if kind == "gap":
            first, last = a + i, a + n * i
            if last < lo or first >= hi:
                continue
            _spread(out, a, i, n)
            if n > tol:
                out.events.append(
                    QualityEvent(series_id=series.pk, kind=kind, start_t=first, end_t=last, count=n, interval=i)
                )
        elif b >= lo and a < hi:
            out.events.append(
                QualityEvent(series_id=series.pk, kind=kind, start_t=a, end_t=b, count=n, value=value, interval=i)
            )
        else:
            continue
        if not daily and lo <= a + (i if kind == "gap" else 0) < hi:
            out.intervals[clock.month(a)].add(round(i / 60))
    out.events.sort(key=lambda e: (e.start_t, e.kind))
    return out


def _stored_extent(cursor, clock: Clock, pk: int, lo: float, hi: float) -> tuple[float, float] | None:
    """The first and last stored time in [lo, hi) (two probes of the index), or None."""
    p = sql_parts(clock.daily)
    one = f"SELECT {p['t']} FROM {p['table']} WHERE series_id = %s AND {p['key']} >= %s AND {p['key']} < %s"
    params = [pk, clock.param(lo), clock.param(hi)]
    cursor.execute(
        f"SELECT ({one} ORDER BY {p['key']} LIMIT 1), ({one} ORDER BY {p['key']} DESC LIMIT 1)", params + params
    )
    first, last = cursor.fetchone()
    return None if first is None else (float(first), float(last) + 1)


def _present_between(cursor, clock: Clock, pk: int, lo: float, hi: float) -> bool:
    """Whether present values lie on both sides of [lo, hi) (a gap may cross a range with nothing in it)."""
    return _present_near(cursor, clock, pk, lo, before=True) is not None and (
        _present_near(cursor, clock, pk, hi - 1e-6, before=False) is not None
    )


def _present_near(cursor, clock: Clock, pk: int, t: float, before: bool) -> float | None:
    """The time of the nearest present value strictly before `t`, or at/after it."""
    p = sql_parts(clock.daily)
    op, order = ("<", "DESC") if before else (">=", "ASC")
    cursor.execute(
        f"SELECT {p['t']} FROM {p['table']} WHERE series_id = %s AND {p['key']} {op} %s AND value IS NOT NULL "
        f"ORDER BY {p['key']} {order} LIMIT 1",
        [pk, clock.param(t)],
    )
    row = cursor.fetchone()
    return None if row is None else float(row[0])


def _scan_bounds(cursor, clock: Clock, pk: int, lo: float, hi: float, th: Thresholds) -> tuple[float, float]:
    """The times the events pass reads for [lo, hi): from a margin before it (a run or spike that reaches into the
    range) back to the present value before that (the step into the range) and, continuous, the stored rows
    whose steps give that value its interval; to a margin after it and the present value after that."""
    daily = clock.daily
    longest = max(th.flat(daily), th.zero(daily))
    margin = longest + th.gap(daily) + 3 if daily else longest + 86400
    floor, ceiling = clock.t(FIRST_DAY), clock.t(LAST_DAY)
    before = _present_near(cursor, clock, pk, lo - margin, before=True)
    scan_lo = lo - margin if before is None else before
    if before is not None and not daily:
        p = sql_parts(daily)
        cursor.execute(
            f"SELECT {p['t']} FROM {p['table']} WHERE series_id = %s AND time < %s ORDER BY time DESC LIMIT 3",
            [pk, clock.param(before)],
        )
        rows = cursor.fetchall()
        scan_lo = float(rows[-1][0]) if rows else before
    after = _present_near(cursor, clock, pk, hi + margin, before=False)
    return max(floor, scan_lo), min(ceiling, hi + margin if after is None else after)


def _spread(out: Measure, prev_t: float, interval: float, slots: int) -> None:
    """Add the missing times prev_t + k·interval (k = 1 … slots) within [lo, hi) to the days they fall in."""
    clock = out.clock
    k = max(1, math.ceil((out.lo - prev_t) / interval - 1e-9))
    last_k = min(slots, math.ceil((out.hi - prev_t) / interval - 1e-9) - 1)
    while k <= last_k:
        day = clock.day(prev_t + k * interval)
        end_k = min(last_k, math.ceil((clock.day_start(day + 1) - prev_t) / interval - 1e-9) - 1)
        out._day(day)[4] += end_k - k + 1
        k = end_k + 1


# --- Keeping them ------------------------------------------------------------------------------------------


def refresh_tallies(kind: str, series_pk: int, low: dt.date | dt.datetime, high: dt.date | dt.datetime) -> None:
    """Recompute the stored quality tallies of series `series_pk` (of `kind`, "daily" or "continuous") for the
    months that values written or removed between `low` and `high` (inclusive; dates or aware instants) can have
    changed. Call it inside the transaction that wrote them."""
    series = TimeSeries.objects.select_related("location").get(pk=series_pk)
    clock = Clock(kind == TimeSeries.Kind.DAILY, series.location.zone or UTC)
    th = Thresholds.for_parameter(series.parameter_code)  # the rules the quality pages judge it by
    lo, hi = sorted((clock.t(low), clock.t(high)))
    with connection.cursor() as cursor:
        stored = _stored_extent(cursor, clock, series_pk, lo, hi + 1e-6)
        if stored is not None:  # a range far wider than the record (a rebuild) is measured over the record
            lo, hi = max(lo, stored[0]), min(hi, stored[1])
        before = _present_near(cursor, clock, series_pk, lo, before=True)
        after = _present_near(cursor, clock, series_pk, hi + 1e-6, before=False)
    first = clock.month(lo if before is None else min(lo, before))
    last = clock.month(hi if after is None else max(hi, after))
    daily = clock.daily
    slack = (th.gap(daily) + 1) * (1 if daily else 3600) + max(th.flat(daily), th.zero(daily))
    for _ in range(100):  # each round only widens the months; a record has finitely many
        a, b = clock.month_start(first), clock.month_start(next_month(last))
        crossing = QualityEvent.objects.filter(series_id=series_pk).filter(
            Q(start_t__lt=a, end_t__gte=a - slack) | Q(start_t__gte=b, start_t__lte=b + slack)
        )
        wider = (first, last)
        for e in crossing.only("start_t", "end_t"):
            wider = (min(wider[0], clock.month(e.start_t)), max(wider[1], clock.month(e.end_t)))
        if wider != (first, last):
            first, last = wider
            continue
        found = measure(series, a, b, th, clock)
        for e in found.events:
            if e.start_t < a and e.end_t >= a - (th.gap(daily) + 1) * e.interval:
                wider = (min(wider[0], clock.month(e.start_t)), wider[1])
            if e.start_t >= a and e.end_t >= b - (th.gap(daily) + 1) * e.interval:
                wider = (wider[0], max(wider[1], clock.month(e.end_t + (th.gap(daily) + 1) * e.interval)))
        if wider == (first, last):
            break
        first, last = wider
    months = found.months(series_pk)
    _last_values(clock, series_pk, months)
    with transaction.atomic():
        QualityMonth.objects.filter(series_id=series_pk, month__gte=first, month__lte=last).delete()
        QualityEvent.objects.filter(series_id=series_pk, start_t__gte=a, start_t__lt=b).delete()
        QualityMonth.objects.bulk_create(months)
        QualityEvent.objects.bulk_create([e for e in found.events if a <= e.start_t < b])


def _last_values(clock: Clock, pk: int, months: list[QualityMonth]) -> None:
    """Each month's last present value (the roll-up's "newest value"): one probe of the (series, time) index each."""
    p = sql_parts(clock.daily)
    with connection.cursor() as cursor:
        for row in months:
            if row.last_t is not None:
                cursor.execute(
                    f"SELECT value FROM {p['table']} WHERE series_id = %s AND {p['key']} = %s",
                    [pk, clock.param(row.last_t)],
                )
                found = cursor.fetchone()
                row.last_value = None if found is None else found[0]


def record_backlog(series_ranges: dict[int, tuple]) -> None:
    """Inside a set commit: remember that series pk -> (low, high) (dates or aware instants) changed."""
    rows = []
    for series_pk, (low, high) in series_ranges.items():
        if isinstance(low, dt.date) and not isinstance(low, dt.datetime):
            low = dt.datetime.combine(low, dt.time(0), dt.UTC)
        if isinstance(high, dt.date) and not isinstance(high, dt.datetime):
            high = dt.datetime.combine(high + dt.timedelta(days=1), dt.time(0), dt.UTC) - dt.timedelta(microseconds=1)
        rows.append(QualityBacklog(series_id=series_pk, low=low, high=high))
    QualityBacklog.objects.bulk_create(rows, batch_size=2000)


def refresh_backlog(*, limit: int | None = None) -> int:
    """Refresh the tallies of the series set commits left in the backlog (all, or the `limit` oldest series), each
    series in its own transaction, its entries merged into one range and deleted with the refresh. Two refreshers
    at once take different series (SKIP LOCKED on PostgreSQL). Returns how many series were refreshed."""
    order = list(dict.fromkeys(QualityBacklog.objects.order_by("created_at").values_list("series_id", flat=True)))
    done = 0
    for series_pk in order[:limit] if limit else order:
        with transaction.atomic():
            entries = QualityBacklog.objects.filter(series_id=series_pk)
            if connection.vendor == "postgresql":
                entries = entries.select_for_update(skip_locked=True)
            taken = list(entries.values_list("pk", "low", "high"))
            if not taken:
                continue
            series = TimeSeries.objects.filter(pk=series_pk).values_list("kind", flat=True).first()
            if series is not None:
                refresh_tallies(series, series_pk, min(t[1] for t in taken), max(t[2] for t in taken))
            QualityBacklog.objects.filter(pk__in=[t[0] for t in taken]).delete()
            done += 1
    return done

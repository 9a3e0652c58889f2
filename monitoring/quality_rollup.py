"""A configuration's quality roll-up: one row per station, worst first (DESIGN.md §11).

Per station (its series of the configuration's kind, primary first): completeness of the last 30 days (the
station's days, today included), of the last complete water year and of the whole record; the provisional share;
the longest gap and the number of flags of the last 365 days; the newest value. All from the quality tallies kept
at commit time (acquisition/tallies.py): one GROUP BY over the month rows of every series, the per-day counts of
their last two months, their events of the last 365 days, and each series' newest month. A series with values but
no tallies yet (stored before they existed, until `manage.py rebuild_quality_tallies`) is measured from its values.
Nothing before a series' first value or after its newest is missing, so a record that starts inside a window is
judged from its start, and one with nothing in a window has "no record" there (shown as such, sorted worst).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Case, IntegerField, Max, Q, Sum, When
from django.utils import timezone

from acquisition.quality_sql import Thresholds
from acquisition.tallies import EPOCH, Clock, measure
from acquisition.tally_models import QualityEvent, QualityMonth
from pulls.models import PullConfiguration
from stations.models import MonitoringLocation, TimeSeries
from stations.parameters import resolve_statistic

RECENT_DAYS = 365


@dataclass
class StationQuality:
    location: MonitoringLocation
    series: TimeSeries | None
    last_30: float | None = None
    last_water_year: float | None = None
    record: float | None = None
    provisional: float | None = None
    longest_gap: dt.timedelta | None = None
    longest_gap_start: dt.date | dt.datetime | None = None
    flags: int = 0
    newest: dt.date | dt.datetime | None = None
    newest_value: float | None = None

    @property
    def worst_key(self) -> tuple:
        """No data is worst; then the lowest recent completeness, then last water year's, then more flags."""
        return (
            -1 if self.last_30 is None else self.last_30,
            -1 if self.last_water_year is None else self.last_water_year,
            -self.flags,
            self.location.monitoring_location_id,
        )


SORTS = {
    "station": lambda r: r.location.monitoring_location_id,
    "last_30": lambda r: -1 if r.last_30 is None else r.last_30,
    "last_water_year": lambda r: -1 if r.last_water_year is None else r.last_water_year,
    "record": lambda r: -1 if r.record is None else r.record,
    "provisional": lambda r: -1 if r.provisional is None else r.provisional,
    "longest_gap": lambda r: r.longest_gap or dt.timedelta(0),
    "flags": lambda r: r.flags,
    "newest": lambda r: (r.newest is not None, str(r.newest or "")),
    "worst": lambda r: r.worst_key,
}


def last_water_year(today: dt.date) -> tuple[dt.date, dt.date]:
    end_year = today.year if today.month >= 10 else today.year - 1
    return dt.date(end_year - 1, 10, 1), dt.date(end_year, 9, 30)


def _series_of(config: PullConfiguration) -> tuple[bool, dict[int, TimeSeries]]:
    daily = config.data_type == PullConfiguration.DataType.DAILY_MEAN
    kind = TimeSeries.Kind.DAILY if daily else TimeSeries.Kind.CONTINUOUS
    chosen: dict[int, TimeSeries] = {}
    # One series a station: the configuration's first parameter (discharge, as a rule), its usual statistic.
    code = config.parameter_codes[0]
    statistic = resolve_statistic(code, "", daily=daily) if daily else None
    series_rows = TimeSeries.objects.filter(location__pull_configurations=config, kind=kind, parameter_code=code)
    if statistic:
        series_rows = series_rows.filter(statistic_id__in=[statistic, ""])
    for series in series_rows.order_by("-primary", "pk"):
        chosen.setdefault(series.location_id, series)
    return daily, chosen


def configuration_rollup(
    config: PullConfiguration, now: dt.datetime | dt.date | None = None, thresholds: Thresholds | None = None
) -> list[StationQuality]:
    """One row per station of `config`, worst first. `now`: the instant whose station-local day is "today" (a
    date: that day at every station)."""
    th = thresholds or Thresholds.for_parameter(config.parameter_codes[0])
    now = now or timezone.now()
    daily, by_location = _series_of(config)
    locations = config.stations.order_by("monitoring_location_id")
    rows = {loc.pk: StationQuality(loc, by_location.get(loc.pk)) for loc in locations}
    series = {s.pk: rows[s.location_id] for s in by_location.values()}
    for row in series.values():
        row.series.location = row.location  # its zone, without a query per series
    if series:
        untallied = _from_tallies(series, daily, now, th)
        for pk in untallied:
            _measured(series[pk], now, th)
    return sorted(rows.values(), key=SORTS["worst"])


def _today(row: StationQuality, now: dt.datetime | dt.date) -> tuple[Clock, dt.date]:
    clock = Clock.of(row.series)
    if isinstance(now, dt.datetime):
        return clock, now.astimezone(clock.zone).date()
    return clock, now


def _from_tallies(series: dict[int, StationQuality], daily: bool, now, th: Thresholds) -> list[int]:
    """Fill the rows from the tallies; return the series that have none."""
    today = max(_today(row, now)[1] for row in series.values())
    wy_start, wy_end = last_water_year(today)
    in_wy = Q(month__gte=wy_start, month__lte=wy_end)
    totals = (
        QualityMonth.objects.filter(series_id__in=series)
        .values("series_id")
        .annotate(
            n_present=Sum("present"),
            n_missing=Sum("missing"),
            n_provisional=Sum("provisional"),
            wy_present=Sum(Case(When(in_wy, then="present"), default=0, output_field=IntegerField())),
            wy_missing=Sum(Case(When(in_wy, then="missing"), default=0, output_field=IntegerField())),
            newest=Max("month"),
        )
    )
    newest: dict[int, dt.date] = {}
    for t in totals:
        row = series[t["series_id"]]
        row.record = _percent(t["n_present"], t["n_present"] + t["n_missing"])
        row.provisional = _percent(t["n_provisional"], t["n_present"])
        _, own_today = _today(row, now)
        if last_water_year(own_today) == (wy_start, wy_end):
            row.last_water_year = _percent(t["wy_present"], t["wy_present"] + t["wy_missing"])
        newest[t["series_id"]] = t["newest"]
    untallied = [pk for pk in series if pk not in newest]
    if not newest:
        return untallied
    # The last 30 days: the per-day counts of the months they cross; the newest value: the newest month's.
    oldest = (today - dt.timedelta(days=30)).replace(day=1)
    recent = QualityMonth.objects.filter(series_id__in=newest).filter(
        Q(month__gte=oldest) | Q(month__in=set(newest.values()))
    )
    sums: dict[int, list[int]] = {}
    for m in recent.only("series_id", "month", "days", "last_t", "last_value"):
        row = series[m.series_id]
        clock, own_today = _today(row, now)
        first_day = own_today - dt.timedelta(days=29)
        total = sums.setdefault(m.series_id, [0, 0])
        for n, (present, missing) in enumerate(m.days, start=1):
            if first_day <= m.month.replace(day=n) <= own_today:
                total[0] += present
                total[1] += present + missing
        if m.month == newest[m.series_id] and m.last_t is not None:
            row.newest, row.newest_value = clock.when(m.last_t), m.last_value
    for pk, (present, expected) in sums.items():
        series[pk].last_30 = _percent(present, expected)
    _recent_events(series, newest, now, th)
    return untallied


def _recent_events(series: dict[int, StationQuality], tallied, now, th: Thresholds) -> None:
    bounds = {}
    for pk in tallied:
        clock, own_today = _today(series[pk], now)
        bounds[pk] = (clock, clock.day_start((own_today - EPOCH).days - RECENT_DAYS + 1))
    lowest = min(lo for _, lo in bounds.values())
    events = QualityEvent.objects.filter(series_id__in=tallied, start_t__gte=lowest).only(
        "series_id", "kind", "start_t", "count", "interval"
    )
    for e in events:
        clock, lo = bounds[e.series_id]
        if e.start_t >= lo:
            _add_event(series[e.series_id], clock, e, th)


def _add_event(row: StationQuality, clock: Clock, e: QualityEvent, th: Thresholds) -> None:
    if e.kind != QualityEvent.Kind.GAP:
        row.flags += 1
        return
    length = dt.timedelta(days=e.count) if clock.daily else dt.timedelta(seconds=e.count * e.interval)
    if row.longest_gap is None or length > row.longest_gap:
        row.longest_gap, row.longest_gap_start = length, clock.when(e.start_t)


def _measured(row: StationQuality, now, th: Thresholds) -> None:
    """A series without tallies: the same figures from its values (slow: years of them)."""
    clock, today = _today(row, now)
    found = measure(row.series, clock.t(dt.date(1800, 1, 1)), clock.day_start((today - EPOCH).days + 1), th, clock)
    months = found.months(row.series.pk)
    if not months:
        return
    present = sum(m.present for m in months)
    row.record = _percent(present, present + sum(m.missing for m in months))
    row.provisional = _percent(sum(m.provisional for m in months), present)
    wy_start, wy_end = last_water_year(today)
    wy = [m for m in months if wy_start <= m.month <= wy_end]
    row.last_water_year = _percent(sum(m.present for m in wy), sum(m.present + m.missing for m in wy))
    first_day, recent = today - dt.timedelta(days=29), [0, 0]
    for m in months:
        for n, (p, missing) in enumerate(m.days, start=1):
            if first_day <= m.month.replace(day=n) <= today:
                recent = [recent[0] + p, recent[1] + p + missing]
    row.last_30 = _percent(*recent)
    newest = next((m for m in reversed(months) if m.last_t is not None), None)
    if newest is not None:
        row.newest = clock.when(newest.last_t)
        values = row.series.daily_values if clock.daily else row.series.continuous_values
        key = "date" if clock.daily else "time"
        row.newest_value = values.filter(**{key: clock.key(newest.last_t)}).values_list("value", flat=True).first()
    lo = clock.day_start((today - EPOCH).days - RECENT_DAYS + 1)
    for e in found.events:
        if e.start_t >= lo:
            _add_event(row, clock, e, th)


def _percent(part: float | None, whole: float | None) -> float | None:
    return None if not whole else min(100.0, 100.0 * (part or 0) / whole)

"""A configuration's quality roll-up: one row per station, worst first (DESIGN.md §11).

Per station (its series of the configuration's kind, primary first): completeness of the last 30 days, of the last
complete water year and of the whole record; the provisional share; the longest gap and the number of flags of
the last 365 days; the newest value. Completeness counts come from one GROUP BY over every series; gaps and flags
from one pass of `quality_sql.events_sql` over the last 365 days of every series. A continuous series is judged
here against its newest interval (the station page follows every change of interval).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection

from pulls.models import PullConfiguration
from stations.models import MonitoringLocation, TimeSeries

from .quality import Thresholds, to_time
from .quality_sql import events_sql, run_events, sql_bounds, sql_parts

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
    interval: float = 86400.0  # seconds: the newest step between stored times (continuous)

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
    for series in TimeSeries.objects.filter(location__pull_configurations=config, kind=kind).order_by("-primary", "pk"):
        chosen.setdefault(series.location_id, series)
    return daily, chosen


def configuration_rollup(
    config: PullConfiguration, today: dt.date, thresholds: Thresholds | None = None
) -> list[StationQuality]:
    """One row per station of `config`, worst first."""
    th = thresholds or Thresholds.from_settings()
    daily, by_location = _series_of(config)
    rows = {
        loc.pk: StationQuality(loc, by_location.get(loc.pk))
        for loc in config.stations.order_by("monitoring_location_id")
    }
    series = {s.pk: rows[s.location_id] for s in by_location.values()}
    if series:
        _newest_and_interval(series, daily)
        _completeness(series, daily, today)
        _recent_events(series, daily, today, th)
    return sorted(rows.values(), key=SORTS["worst"])


def _newest_and_interval(series: dict[int, StationQuality], daily: bool) -> None:
    for row in series.values():
        values = row.series.daily_values if daily else row.series.continuous_values
        key = "date" if daily else "time"
        newest = list(values.order_by(f"-{key}").values_list(key, "value")[:13])
        if newest:
            row.newest, row.newest_value = newest[0]
        steps = [(a[0] - b[0]).total_seconds() for a, b in zip(newest, newest[1:], strict=False)] if not daily else []
        row.interval = min(steps) if steps else (86400.0 if daily else 900.0)  # 15 minutes: USGS's usual


def _completeness(series: dict[int, StationQuality], daily: bool, today: dt.date) -> None:
    p = sql_parts(daily)
    ids = ", ".join(str(pk) for pk in series)
    recent = sql_bounds(daily, today - dt.timedelta(days=29), today)
    wy_start, wy_end = last_water_year(today)
    wy = sql_bounds(daily, wy_start, wy_end)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT series_id, MIN({p["t"]}), MAX({p["t"]}),
                   SUM(CASE WHEN value IS NOT NULL THEN 1 ELSE 0 END),
                   SUM(CASE WHEN value IS NOT NULL AND {p["key"]} BETWEEN %s AND %s THEN 1 ELSE 0 END),
                   SUM(CASE WHEN value IS NOT NULL AND {p["key"]} BETWEEN %s AND %s THEN 1 ELSE 0 END),
                   SUM(CASE WHEN value IS NOT NULL AND approval_status = 'Provisional' THEN 1 ELSE 0 END)
              FROM {p["table"]} WHERE series_id IN ({ids}) GROUP BY series_id
            """,
            [*recent, *wy],
        )
        for pk, first, last, present, last_30, in_wy, provisional in cursor.fetchall():
            row = series[pk]
            per_day = 1 if daily else 86400 / row.interval
            unit = 1 if daily else row.interval
            row.last_30 = _percent(last_30, 30 * per_day)
            row.last_water_year = _percent(in_wy, ((wy_end - wy_start).days + 1) * per_day)
            row.record = _percent(present, (last - first) / unit + 1)
            row.provisional = _percent(provisional, present)


def _percent(part: float, whole: float) -> float | None:
    return None if not whole else min(100.0, 100.0 * (part or 0) / whole)


def _recent_events(series: dict[int, StationQuality], daily: bool, today: dt.date, th: Thresholds) -> None:
    bounds = sql_bounds(daily, today - dt.timedelta(days=RECENT_DAYS - 1), today)
    with connection.cursor() as cursor:
        events = run_events(cursor, events_sql(daily, list(series), th), bounds)
    for kind, pk, a, _, n, _, interval in events:
        row = series[pk]
        if kind != "gap":
            row.flags += 1
        elif n > th.gap(daily):
            length = dt.timedelta(days=n) if daily else dt.timedelta(seconds=n * interval)
            if row.longest_gap is None or length > row.longest_gap:
                row.longest_gap, row.longest_gap_start = length, to_time(a + interval, daily)

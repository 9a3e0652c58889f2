"""How unusual is a daily value: its percentile among the same calendar day's approved years (USGS's stored
day-of-year normals, acquisition.normals) and its WaterWatch class.

The percentile of a value is interpolated linearly between the points USGS gives for its day — minimum (as the
0th percentile), p5, p10, p25, p50, p75, p90, p95, maximum (as the 100th) — as Water Data for the Nation ranks a
current value; it is rounded to a whole percentile and classed:

    below the minimum: record low · < 10: much below normal · 10–24: below normal · 25–75: normal ·
    76–90: above normal · > 90: much above normal · above the maximum: record high

A value is not ranked (and no band is drawn for its day) when the day's normals are missing, rest on fewer than
PERCENTILE_MIN_SAMPLES years, or lack any of p10, p25, p75, p90 (USGS's "nan": too short a record); the reason is
kept as a sentence. 02-29 uses its own row where USGS has one, else 02-28's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import OuterRef, Subquery

from acquisition.models import DailyValue, NormalsFetch, SeriesNormal
from stations.models import TimeSeries

DISCHARGE = "00060"
CHUNK = 2000  # series ids a query names


@dataclass(frozen=True)
class PercentileClass:
    key: str
    label: str
    color: str  # WaterWatch's colours, on the map and the badges
    text: str  # a readable text colour on that background


CLASSES = (
    PercentileClass("record_high", "Record high", "#000000", "#fff"),
    PercentileClass("much_above", "Much above normal (>90)", "#0000ff", "#fff"),
    PercentileClass("above", "Above normal (76–90)", "#40dfd0", "#000"),
    PercentileClass("normal", "Normal (25–75)", "#00ff00", "#000"),
    PercentileClass("below", "Below normal (10–24)", "#ffa400", "#000"),
    PercentileClass("much_below", "Much below normal (<10)", "#b12121", "#fff"),
    PercentileClass("record_low", "Record low", "#ff0000", "#fff"),
    PercentileClass("not_ranked", "Not ranked", "#adb5bd", "#000"),
)
BY_KEY = {c.key: c for c in CLASSES}
SHORT_LABELS = {
    "record_high": "Record high",
    "much_above": "Much above normal",
    "above": "Above normal",
    "normal": "Normal",
    "below": "Below normal",
    "much_below": "Much below normal",
    "record_low": "Record low",
    "not_ranked": "Not ranked",
}


@dataclass(frozen=True)
class Ranking:
    """A daily value ranked against its day's normals."""

    series: TimeSeries | None
    date: dt.date | None
    value: float | None
    percentile: int | None  # whole percentile; None when not ranked (or a record)
    key: str
    reason: str = ""  # why it is not ranked
    normal: SeriesNormal | None = None

    @property
    def cls(self) -> PercentileClass:
        return BY_KEY[self.key]

    @property
    def label(self) -> str:
        return SHORT_LABELS[self.key]

    @property
    def ranked(self) -> bool:
        return self.key != "not_ranked"


def class_of(percentile: int) -> str:
    if percentile < 10:
        return "much_below"
    if percentile < 25:
        return "below"
    if percentile <= 75:
        return "normal"
    if percentile <= 90:
        return "above"
    return "much_above"


def unusable(normal: SeriesNormal | None) -> str:
    """Why a day's normals cannot rank a value or draw a band; "" when they can."""
    if normal is None:
        return "USGS has no statistics for this day of the year."
    if normal.sample_count is None or normal.sample_count < settings.PERCENTILE_MIN_SAMPLES:
        n = normal.sample_count or 0
        return (
            f"USGS's statistics for {normal.month:02d}-{normal.day:02d} rest on {n} year{'s' if n != 1 else ''}, "
            f"fewer than {settings.PERCENTILE_MIN_SAMPLES}: too short a record to rank a value."
        )
    if any(getattr(normal, name) is None for name in ("p10", "p25", "p75", "p90")):
        return (
            f"USGS gives no percentiles (\u201cnan\u201d) for {normal.month:02d}-{normal.day:02d}: too short a record."
        )
    return ""


def percentile_of(value: float, normal: SeriesNormal) -> float | None:
    """The value's percentile, linear between USGS's points; -inf / inf beyond the record (low / high)."""
    if normal.minimum is not None and value < normal.minimum:
        return float("-inf")
    if normal.maximum is not None and value > normal.maximum:
        return float("inf")
    points = normal.percentile_points()
    if not points:
        return None
    if value <= points[0][1]:
        return points[0][0]
    for (p0, v0), (p1, v1) in zip(points, points[1:], strict=False):
        if v0 <= value <= v1:
            return p0 if v1 == v0 else p0 + (value - v0) / (v1 - v0) * (p1 - p0)
    return points[-1][0]


def rank(series: TimeSeries | None, day: dt.date | None, value: float | None, normal: SeriesNormal | None,
         fetched: NormalsFetch | None = None) -> Ranking:  # fmt: skip
    if series is None:
        return Ranking(None, None, None, None, "not_ranked", "No daily series stored for this station.")
    if day is None or value is None:
        return Ranking(series, None, None, None, "not_ranked", "No daily value stored yet.")
    if fetched is None and normal is None:
        reason = "Normals not fetched yet: they come with the next refresh (or an Operator's “Refresh normals”)."
        return Ranking(series, day, value, None, "not_ranked", reason)
    if fetched is not None and fetched.days == 0:
        reason = fetched.message or "USGS has no day-of-year statistics for this series."
        return Ranking(series, day, value, None, "not_ranked", reason)
    why = unusable(normal)
    if why:
        return Ranking(series, day, value, None, "not_ranked", why, normal)
    p = percentile_of(value, normal)
    if p == float("-inf"):
        return Ranking(series, day, value, None, "record_low", "", normal)
    if p == float("inf"):
        return Ranking(series, day, value, None, "record_high", "", normal)
    whole = round(p)
    return Ranking(series, day, value, whole, class_of(whole), "", normal)


def _day_keys(day: dt.date) -> list[tuple[int, int]]:
    return [(2, 29), (2, 28)] if (day.month, day.day) == (2, 29) else [(day.month, day.day)]


def normal_for(normals: dict[tuple[int, int], SeriesNormal], day: dt.date) -> SeriesNormal | None:
    """The day's normal; 02-29 falls back to 02-28 where USGS has no usable 02-29 row."""
    keys = _day_keys(day)
    for key in keys:
        found = normals.get(key)
        if found is not None and (not unusable(found) or key == keys[-1]):
            return found
    return None


def station_series(location_ids: list[int]) -> dict[int, TimeSeries]:
    """Each location's series that gets its class: the primary daily discharge series, else its first daily
    series (a station with only another daily-mean parameter is ranked on that)."""
    chosen: dict[int, TimeSeries] = {}
    rows = TimeSeries.objects.filter(location__in=location_ids, kind=TimeSeries.Kind.DAILY).order_by(
        "location_id", "-primary", "pk"
    )
    for series in rows:
        current = chosen.get(series.location_id)
        if current is None or (current.parameter_code != DISCHARGE and series.parameter_code == DISCHARGE):
            chosen[series.location_id] = series
    return chosen


def newest_rankings(series_list: list[TimeSeries]) -> dict[int, Ranking]:
    """Series pk → the ranking of its newest stored daily value: a few queries however many series."""
    if not series_list:
        return {}
    newest = DailyValue.objects.filter(series=OuterRef("pk"), value__isnull=False).order_by("-date")
    rows = TimeSeries.objects.filter(pk__in=[s.pk for s in series_list]).annotate(
        newest_date=Subquery(newest.values("date")[:1]), newest_value=Subquery(newest.values("value")[:1])
    )
    latest = {r.pk: (r.newest_date, r.newest_value) for r in rows}
    # One query per calendar day needed (the newest values are mostly of one or two days), series in chunks.
    needed: dict[tuple[int, int], list[int]] = {}
    for s in series_list:
        day = latest.get(s.pk, (None, None))[0]
        for key in _day_keys(day) if day else ():
            needed.setdefault(key, []).append(s.pk)
    normals: dict[int, dict[tuple[int, int], SeriesNormal]] = {}
    for (month, dom), ids in needed.items():
        for i in range(0, len(ids), CHUNK):
            for normal in SeriesNormal.objects.filter(series__in=ids[i : i + CHUNK], month=month, day=dom):
                normals.setdefault(normal.series_id, {})[(normal.month, normal.day)] = normal
    pks = [s.pk for s in series_list]
    fetches = {
        f.series_id: f
        for i in range(0, len(pks), CHUNK)
        for f in NormalsFetch.objects.filter(series__in=pks[i : i + CHUNK])
    }
    out = {}
    for s in series_list:
        day, value = latest.get(s.pk, (None, None))
        normal = normal_for(normals.get(s.pk, {}), day) if day else None
        out[s.pk] = rank(s, day, value, normal, fetches.get(s.pk))
    return out


def station_rankings(location_ids: list[int]) -> dict[int, Ranking]:
    """Location pk → the ranking of its newest daily value (Not ranked without a daily series)."""
    chosen = station_series(location_ids)
    by_series = newest_rankings(list(chosen.values()))
    return {pk: by_series[chosen[pk].pk] if pk in chosen else rank(None, None, None, None) for pk in location_ids}


def series_normals(series: TimeSeries, start: dt.date, end: dt.date) -> list[tuple[dt.date, SeriesNormal | None]]:
    """Each day of [start, end] with its normal (None where USGS has none)."""
    by_day = {(n.month, n.day): n for n in SeriesNormal.objects.filter(series=series)}
    out = []
    day = start
    while day <= end:
        out.append((day, normal_for(by_day, day)))
        day += dt.timedelta(days=1)
    return out

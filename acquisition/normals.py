"""Fetching and storing day-of-year normals (USGS Statistics API) and USGS's revision notes (issue 24).

Normals: for each mirrored daily series, ``observationNormals`` with ``computation_type`` minimum, maximum and
percentile (repeated keys), ``normal_type=DOY``, the series' parameter codes, up to ~180 monitoring locations a
request (what an 8 KB URL holds as repeated keys), 1000 locations a page: N stations cost ``ceil(N / ~180)``
requests plus the rare extra page, drawn from the same request budget as the pulls (the shared token bucket
``usgs``, USGS_REQUESTS_PER_HOUR). A series' rows are replaced as a whole when its location's answer arrives;
a series USGS has nothing for is recorded as fetched with 0 days (the page says so).

They change when USGS approves a water year, so they are refreshed slowly: the beat task refreshes series whose
normals are older than NORMALS_REFRESH_DAYS (or missing); an Operator can refresh a station's on its page, and
``manage.py refresh_normals`` refreshes any set.

Revision notes: ``time-series-revisions`` per site (comma lists through the data client, one request per ~400
sites plus pages), rows replaced per location.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from acquisition.models import DailyValue, NormalsFetch, RevisionNote, SeriesNormal
from acquisition.runlog import record_quota
from acquisition.throttled_client import USER_AGENT, DatabaseTokenBucket, build_client
from acquisition.usgs.statistics import DayNormal, StatisticsClient, revisions_pages
from stations.models import MonitoringLocation, TimeSeries

logger = logging.getLogger(__name__)


@dataclass
class RefreshResult:
    series: int = 0  # series asked for
    with_normals: int = 0  # series USGS gave day-of-year statistics for
    days: int = 0  # rows stored
    requests: int = 0
    notes: int = 0  # revision notes stored

    def __str__(self) -> str:
        return (
            f"{self.series} series asked, {self.with_normals} with normals ({self.days} days stored), "
            f"{self.notes} revision notes, {self.requests} USGS requests"
        )


def build_statistics_client(**overrides) -> StatisticsClient:
    """A StatisticsClient for USGS_STATISTICS_URL with the key and the shared request budget of the data client."""
    options = {
        "user_agent": USER_AGENT,
        "throttle": DatabaseTokenBucket(settings.USGS_REQUESTS_PER_HOUR),
        "backoff_base": getattr(settings, "USGS_BACKOFF_BASE", 0.5),
        "max_body_bytes": settings.USGS_MAX_BODY_MB * 2**20,
        "deadline": settings.USGS_REQUEST_DEADLINE_SECONDS,
        "max_pages": settings.USGS_MAX_PAGES,
    }
    options.update(overrides)
    return StatisticsClient(settings.USGS_STATISTICS_URL, settings.USGS_API_KEY or None, **options)


def mirrored_daily_series() -> list[TimeSeries]:
    """Daily series with at least one stored value (whatever their parameter)."""
    stored = DailyValue.objects.filter(series=OuterRef("pk"))
    return list(TimeSeries.objects.filter(kind=TimeSeries.Kind.DAILY).filter(Exists(stored)).select_related("location"))


def due_series(now: dt.datetime | None = None) -> list[TimeSeries]:
    """Mirrored daily series whose normals were never fetched or are older than NORMALS_REFRESH_DAYS."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.NORMALS_REFRESH_DAYS)
    fresh = set(NormalsFetch.objects.filter(fetched_at__gte=cutoff).values_list("series_id", flat=True))
    return [s for s in mirrored_daily_series() if s.pk not in fresh]


def refresh_normals(series: Iterable[TimeSeries], *, client: StatisticsClient | None = None) -> RefreshResult:
    """Fetch and store the day-of-year normals of `series` (daily series). Raises USGSError when USGS fails; what
    was stored before that stays (each location's series commit together)."""
    series = [s for s in series if s.kind == TimeSeries.Kind.DAILY]
    result = RefreshResult(series=len(series))
    if not series:
        return result
    by_id = {s.time_series_id: s for s in series}
    sites = sorted({s.location.monitoring_location_id for s in series})
    pcodes = sorted({s.parameter_code for s in series if s.parameter_code})
    own = client is None
    client = client or build_statistics_client()
    seen: set[str] = set()
    try:
        for page in client.normals_pages(sites, parameter_codes=pcodes):
            rows: dict[str, list[DayNormal]] = defaultdict(list)
            for normal in page:
                if normal.kind == "day_of_year" and normal.parent_time_series_id in by_id:
                    rows[normal.parent_time_series_id].append(normal)
            for series_id, normals in rows.items():
                result.days += _store(by_id[series_id], normals)
                result.with_normals += 1
                seen.add(series_id)
    finally:
        result.requests = client.requests_made
        if client.ratelimit_remaining is not None:
            record_quota(client.ratelimit_limit, client.ratelimit_remaining)
        if own:
            client.close()
    for series_id, s in by_id.items():  # the whole answer read: USGS has nothing for these
        if series_id not in seen:
            _store(s, [])
    return result


def _store(series: TimeSeries, normals: list[DayNormal]) -> int:
    rows = []
    for n in normals:
        try:
            month, day = (int(part) for part in n.time_of_year.split("-"))
            dt.date(2000, month, day)  # a leap year: 02-29 is a day of the year
        except ValueError:
            logger.warning("USGS sent a day of year %r for %s; skipped", n.time_of_year, series.time_series_id)
            continue
        p = n.percentiles
        rows.append(
            SeriesNormal(
                series=series, month=month, day=day, p05=p.get(5), p10=p.get(10), p25=p.get(25), p50=p.get(50),
                p75=p.get(75), p90=p.get(90), p95=p.get(95), minimum=n.minimum, maximum=n.maximum,
                sample_count=n.sample_count,
            )
        )  # fmt: skip
    message = "" if rows else "USGS has no day-of-year statistics for this series (no approved record yet)."
    with transaction.atomic():
        SeriesNormal.objects.filter(series=series).delete()
        SeriesNormal.objects.bulk_create(rows, batch_size=500)
        NormalsFetch.objects.update_or_create(
            series=series, defaults={"fetched_at": timezone.now(), "days": len(rows), "message": message}
        )
    return len(rows)


def refresh_revision_notes(locations: Iterable[MonitoringLocation], *, client=None) -> tuple[int, int]:
    """Fetch USGS's revision notes of `locations` and replace theirs: (notes stored, requests made)."""
    locations = list(locations)
    if not locations:
        return 0, 0
    by_site = {loc.monitoring_location_id: loc for loc in locations}
    own = client is None
    client = client or build_client()
    notes = []
    try:
        for page in revisions_pages(client, sorted(by_site)):
            notes.extend(page)
    finally:
        requests = client.requests_made
        if own:
            client.close()
    series = {
        s.time_series_id: s for s in TimeSeries.objects.filter(time_series_id__in={n.time_series_id for n in notes})
    }
    now = timezone.now()
    rows = [
        RevisionNote(
            location=by_site[n.monitoring_location_id], time_series_id=n.time_series_id,
            series=series.get(n.time_series_id), note=n.note[:5000], begin=n.begin, end=n.end, fetched_at=now,
        )
        for n in notes
        if n.monitoring_location_id in by_site
    ]  # fmt: skip
    with transaction.atomic():
        RevisionNote.objects.filter(location__in=locations).delete()
        RevisionNote.objects.bulk_create(rows)
    return len(rows), requests


def refresh_due(now: dt.datetime | None = None) -> RefreshResult:
    """The slow schedule: normals of the due series, and the revision notes of their stations."""
    series = due_series(now)
    result = refresh_normals(series)
    if series:
        result.notes, requests = refresh_revision_notes({s.location for s in series})
        result.requests += requests
    logger.info("Normals refresh: %s", result)
    return result


def refresh_locations(locations: Iterable[MonitoringLocation]) -> RefreshResult:
    """On demand (a station page's button, the management command): every daily series of `locations`."""
    locations = list(locations)
    series = TimeSeries.objects.filter(location__in=locations, kind=TimeSeries.Kind.DAILY).select_related("location")
    result = refresh_normals(series)
    result.notes, requests = refresh_revision_notes(locations)
    result.requests += requests
    return result

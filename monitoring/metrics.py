"""Prometheus metrics, every number read from the database at scrape time.

Several gunicorn workers answer /metrics and several Celery workers do the pulls; a counter kept in one process's
memory would tell a different story in each and start again at 0 after a restart. So nothing here is counted in
memory: `DatabaseCollector.collect()` runs a handful of aggregate queries over the run tables and reports what they
say, the same from any process. Counters only go down when old runs are deleted (Prometheus treats that as a
counter reset).

What the database does not hold cannot be shown: the run tables count requests per batch, not per USGS collection
or HTTP status, so "requests by collection and status" is not here; retries and 429s are read from the run log's
WARNING lines ("HTTP 429 from …; retrying in …") over the last hour.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from acquisition.models import Heartbeat, PullLogEntry, PullRun, PullRunBatch, PullRunStation, RateLimitBucket
from acquisition.throttled_client import BUCKET_NAME
from pulls.models import PullConfigurationStation, StationProgress

from .staleness import stale_stations

RUN_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200)
STATION_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800)
WORKERS_SEEN_WITHIN = dt.timedelta(hours=24)
RETRY_WINDOW = dt.timedelta(hours=1)
FRESHNESS_STATES = ("fresh", "stale", "failing", "paused", "never_pulled")


class DatabaseCollector(Collector):
    """Collects every Streamflow metric from the database; safe to register in any number of registries."""

    def __init__(self, now: dt.datetime | None = None) -> None:
        self._now = now

    def collect(self) -> Iterator[Metric]:
        now = self._now or timezone.now()
        yield from _run_counters()
        yield from _active_runs()
        yield from _durations(now)
        yield from _freshness(now)
        yield from _retries(now)
        yield from _quota()
        yield from _heartbeats(now)


def render(now: dt.datetime | None = None) -> bytes:
    """The text exposition of a fresh registry holding only the database collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(now))
    return generate_latest(registry)


def _run_counters() -> Iterator[Metric]:
    runs = CounterMetricFamily(
        "streamflow_runs", "Runs finished, by configuration and status.", labels=["configuration", "status"]
    )
    values = CounterMetricFamily(
        "streamflow_values",
        "Values written by finished and running runs, by configuration and outcome.",
        labels=["configuration", "outcome"],
    )
    requests = CounterMetricFamily(
        "streamflow_usgs_requests", "Requests made to the USGS API, by configuration.", labels=["configuration"]
    )
    rows = (
        PullRun.objects.values("configuration_name", "status")
        .annotate(
            n=Count("pk"),
            inserted=Sum("values_inserted"),
            updated=Sum("values_updated"),
            unchanged=Sum("values_unchanged"),
            requests=Sum("requests_made", filter=~Q(status__in=PullRun.ACTIVE_STATUSES)),
        )
        .order_by("configuration_name", "status")
    )
    totals: dict[str, dict[str, int]] = {}
    for row in rows:
        name = row["configuration_name"]
        if row["status"] not in PullRun.ACTIVE_STATUSES:
            runs.add_metric([name, row["status"]], row["n"])
        t = totals.setdefault(name, {"inserted": 0, "updated": 0, "unchanged": 0, "requests": 0})
        for key in ("inserted", "updated", "unchanged", "requests"):
            t[key] += row[key] or 0
    # A running run's total is written when it ends; its batches count as they go (DESIGN.md §4.7).
    active = (
        PullRunBatch.objects.filter(run__status__in=PullRun.ACTIVE_STATUSES)
        .values("run__configuration_name")
        .annotate(requests=Sum("requests_made"))
    )
    for row in active:
        totals.setdefault(row["run__configuration_name"], {"inserted": 0, "updated": 0, "unchanged": 0, "requests": 0})
        totals[row["run__configuration_name"]]["requests"] += row["requests"] or 0
    for name, t in totals.items():
        for outcome in ("inserted", "updated", "unchanged"):
            values.add_metric([name, outcome], t[outcome])
        requests.add_metric([name], t["requests"])
    yield runs
    yield values
    yield requests


def _active_runs() -> Iterator[Metric]:
    gauge = GaugeMetricFamily("streamflow_runs_active", "Runs queued or running now.", labels=["status"])
    counts = dict(PullRun.objects.active().values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    for status in PullRun.ACTIVE_STATUSES:
        gauge.add_metric([status], counts.get(status, 0))
    yield gauge


def _histogram(name: str, documentation: str, queryset, buckets: tuple[float, ...]) -> Metric:
    duration = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    qs = queryset.filter(started_at__isnull=False, finished_at__isnull=False).annotate(duration=duration)
    aggregates = {
        f"le_{i}": Count("pk", filter=Q(duration__lte=dt.timedelta(seconds=b))) for i, b in enumerate(buckets)
    }
    result = qs.aggregate(total=Count("pk"), sum=Sum("duration"), **aggregates)
    cumulative = [(str(float(b)), result[f"le_{i}"]) for i, b in enumerate(buckets)]
    cumulative.append(("+Inf", result["total"]))
    total_seconds = result["sum"].total_seconds() if result["sum"] is not None else 0.0
    return HistogramMetricFamily(name, documentation, buckets=cumulative, sum_value=total_seconds)


def _durations(now: dt.datetime) -> Iterator[Metric]:
    cutoff = now - dt.timedelta(hours=settings.METRICS_WINDOW_HOURS)
    window = f"the last {settings.METRICS_WINDOW_HOURS} h"
    recent_runs = PullRun.objects.filter(created_at__gte=cutoff, finished_at__gte=cutoff)
    yield _histogram(
        "streamflow_run_duration_seconds", f"Duration of runs that finished in {window}.", recent_runs, RUN_BUCKETS
    )
    # Stations of the runs created in the window (the run index), not a scan of every station row ever written.
    stations = PullRunStation.objects.filter(run__created_at__gte=cutoff, finished_at__gte=cutoff)
    yield _histogram(
        "streamflow_station_duration_seconds",
        f"Duration of run stations that finished in {window}.",
        stations,
        STATION_BUCKETS,
    )


def freshness_counts(now: dt.datetime | None = None) -> dict[str, int]:
    """(Station, data type) pairs of the configurations by state: fresh, stale (a silent gage), failing (our pulls
    fail), paused (only in disabled configurations), never_pulled (in an enabled configuration, not tried yet)."""
    pairs_enabled: set[tuple[int, str]] = set()
    pairs_all: set[tuple[int, str]] = set()
    for location_id, data_type, enabled in PullConfigurationStation.objects.values_list(
        "location_id", "configuration__data_type", "configuration__enabled"
    ):
        pairs_all.add((location_id, data_type))
        if enabled:
            pairs_enabled.add((location_id, data_type))
    tried = set(
        StationProgress.objects.filter(configuration__enabled=True)
        .filter(Q(last_success_at__isnull=False) | Q(consecutive_failures__gt=0))
        .values_list("location_id", "configuration__data_type")
    )
    stale = {(s.location.pk, s.data_type): s.failing for s in stale_stations(now)}
    counts = dict.fromkeys(FRESHNESS_STATES, 0)
    counts["paused"] = len(pairs_all - pairs_enabled)
    for pair in pairs_enabled:
        if pair in stale:
            counts["failing" if stale[pair] else "stale"] += 1
        elif pair in tried:
            counts["fresh"] += 1
        else:
            counts["never_pulled"] += 1
    return counts


def _freshness(now: dt.datetime) -> Iterator[Metric]:
    gauge = GaugeMetricFamily(
        "streamflow_stations", "Stations (per data type) by freshness of their newest value.", labels=["state"]
    )
    for state, n in freshness_counts(now).items():
        gauge.add_metric([state], n)
    yield gauge


def _retries(now: dt.datetime) -> Iterator[Metric]:
    cutoff = now - RETRY_WINDOW
    # Lines of runs active in the window, through the run index and the (run, id) log index: no scan of the log.
    runs = PullRun.objects.filter(created_at__gte=cutoff - dt.timedelta(days=1)).filter(
        Q(finished_at__isnull=True) | Q(finished_at__gte=cutoff)
    )
    lines = PullLogEntry.objects.filter(run__in=runs, created_at__gte=cutoff, level=PullLogEntry.Level.WARNING)
    counts = lines.filter(message__contains="; retrying in ").aggregate(
        http_429=Count("pk", filter=Q(message__contains="HTTP 429 from")),
        http_5xx=Count("pk", filter=Q(message__regex=r"HTTP 5[0-9][0-9] from")),
        total=Count("pk"),
    )
    gauge = GaugeMetricFamily(
        "streamflow_usgs_retries_last_hour",
        "USGS requests retried in the last hour (from the run logs), by cause.",
        labels=["cause"],
    )
    gauge.add_metric(["http_429"], counts["http_429"])
    gauge.add_metric(["http_5xx"], counts["http_5xx"])
    gauge.add_metric(["other"], counts["total"] - counts["http_429"] - counts["http_5xx"])
    yield gauge


def _quota() -> Iterator[Metric]:
    remaining = GaugeMetricFamily("streamflow_usgs_quota_remaining", "Requests left this hour, as USGS last said.")
    limit = GaugeMetricFamily("streamflow_usgs_quota_limit", "The hourly request quota, as USGS last said.")
    seen = GaugeMetricFamily("streamflow_usgs_quota_seen_timestamp_seconds", "When USGS last reported the quota.")
    bucket = RateLimitBucket.objects.filter(name=BUCKET_NAME).first()
    if bucket is not None and bucket.quota_remaining is not None:
        remaining.add_metric([], bucket.quota_remaining)
        if bucket.quota_limit is not None:
            limit.add_metric([], bucket.quota_limit)
        if bucket.quota_seen_at is not None:
            seen.add_metric([], bucket.quota_seen_at.timestamp())
    yield remaining
    yield limit
    yield seen


def _heartbeats(now: dt.datetime) -> Iterator[Metric]:
    beat = GaugeMetricFamily("streamflow_beat_last_tick_timestamp_seconds", "When celery beat last ticked.")
    workers = GaugeMetricFamily(
        "streamflow_worker_last_heartbeat_timestamp_seconds",
        "When each Celery worker last recorded its heartbeat (workers seen in the last 24 h).",
        labels=["worker"],
    )
    rows = Heartbeat.objects.filter(
        Q(name="beat") | Q(name__startswith="worker:", seen_at__gte=now - WORKERS_SEEN_WITHIN)
    )
    for row in rows.order_by("name"):
        if row.name == "beat":
            beat.add_metric([], row.seen_at.timestamp())
        else:
            workers.add_metric([row.name.removeprefix("worker:")], row.seen_at.timestamp())
    yield beat
    yield workers

"""Numbers for the dashboard and the configuration statistics: plain functions over the run tables."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from zoneinfo import ZoneInfoNotFoundError

from django.db.models import Case, Count, F, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Least
from django.utils import timezone

from acquisition.models import PullRun, PullRunBatch, PullRunStation, RateLimitBucket
from pulls import cron
from pulls.models import PullConfiguration

from .staleness import stale_stations

RECENT_RUNS_FOR_STATS = 50


_FINISHED = [PullRunStation.Status.SUCCEEDED, PullRunStation.Status.FAILED, PullRunStation.Status.SKIPPED]
# A station's bar in SQL, as PullRunStation.progress_percent draws it: finished 100, else its progress up to 99.
_STATION_PERCENT = Case(
    When(status__in=_FINISHED, then=Value(100)), default=Least(F("progress"), Value(99)), output_field=IntegerField()
)


@dataclass(frozen=True)
class StationTally:
    """A run's stations counted in the database: how many per status, and the overall bar."""

    by_status: dict[str, int]
    progress: int

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def station_tally(run: PullRun) -> StationTally:
    """One grouped query, however many stations the run has: the live poll reads this, not the station rows."""
    rows = run.stations.order_by().values("status").annotate(n=Count("pk"), percent=Sum(_STATION_PERCENT))
    by_status = {value: 0 for value, _ in PullRunStation.Status.choices}
    percent = 0
    for row in rows:
        by_status[row["status"]] = row["n"]
        percent += row["percent"] or 0
    total = sum(by_status.values())
    if not run.is_active:
        return StationTally(by_status, 100)
    return StationTally(by_status, int(percent / total) if total else 0)


def progress_by_run(runs: list[PullRun]) -> dict[int, int]:
    """Overall progress of each active run (the mean of its stations' bars), one grouped query for them all."""
    rows = (
        PullRunStation.objects.filter(run__in=runs)
        .order_by()
        .values("run_id")
        .annotate(n=Count("pk"), percent=Sum(_STATION_PERCENT))
    )
    found = {row["run_id"]: int(row["percent"] / row["n"]) for row in rows if row["n"]}
    return {run.pk: (found.get(run.pk, 0) if run.is_active else 100) for run in runs}


def _troubled_today(midnight: dt.datetime) -> dict:
    """Runs since local midnight that did not store everything: failed (nothing) and partial (some stations)."""
    counts = PullRun.objects.filter(
        created_at__gte=midnight, status__in=[PullRun.Status.FAILED, PullRun.Status.PARTIAL]
    ).aggregate(
        failed=Count("pk", filter=Q(status=PullRun.Status.FAILED)),
        partial=Count("pk", filter=Q(status=PullRun.Status.PARTIAL)),
    )
    return {
        "failed_today": counts["failed"],
        "partial_today": counts["partial"],
        "troubled_today": counts["failed"] + counts["partial"],
    }


def dashboard_summary(now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    configs = PullConfiguration.objects.aggregate(total=Count("pk"), enabled=Count("pk", filter=Q(enabled=True)))
    by_status = dict(
        PullRun.objects.filter(created_at__gte=now - dt.timedelta(hours=24))
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    stale = stale_stations(now)
    running = list(PullRun.objects.active().select_related("configuration").order_by("created_at")[:20])
    progress = progress_by_run(running)
    for run in running:
        run.progress = progress[run.pk]
    return {
        "configurations_total": configs["total"],
        "configurations_enabled": configs["enabled"],
        "configurations_paused": configs["total"] - configs["enabled"],
        "runs_24h": [(label, value, by_status.get(value, 0)) for value, label in PullRun.Status.choices],
        "runs_24h_total": sum(by_status.values()),
        **_troubled_today(midnight),
        "silent_stations": [s for s in stale if not s.failing],
        "failing_stations": [s for s in stale if s.failing],
        "running_runs": running,
        "next_runs": next_scheduled_runs(now),
        "recent_runs": list(PullRun.objects.select_related("configuration")[:10]),
        "quota": quota_left(),
    }


# --- Next scheduled runs ------------------------------------------------------------------------------------


def next_fire_time(cron_expression: str, tz_name: str, after: dt.datetime) -> dt.datetime | None:
    """When beat will next send a configuration's task (the same computation as the configuration form's preview).
    None for an expression or time zone that cannot be scheduled (the form refuses those)."""
    try:
        return cron.next_runs(cron.parse(cron_expression), tz_name, count=1, after=after)[0]
    except (cron.CronError, ValueError, KeyError, ZoneInfoNotFoundError):
        return None


@dataclass(frozen=True)
class NextRun:
    configuration: PullConfiguration
    at: dt.datetime


def next_scheduled_runs(now: dt.datetime | None = None, limit: int = 5) -> list[NextRun]:
    now = now or timezone.now()
    upcoming = []
    for config in PullConfiguration.objects.enabled().only("pk", "name", "cron_expression", "timezone")[:500]:
        at = next_fire_time(config.cron_expression, config.timezone, now)
        if at is not None:
            upcoming.append(NextRun(config, at))
    upcoming.sort(key=lambda item: item.at)
    return upcoming[:limit]


# --- Configuration statistics -------------------------------------------------------------------------------


def configuration_statistics(config: PullConfiguration) -> dict:
    runs = PullRun.objects.filter(configuration=config)
    counts = runs.aggregate(
        total=Count("pk"),
        succeeded=Count("pk", filter=Q(status=PullRun.Status.SUCCEEDED)),
        partial=Count("pk", filter=Q(status=PullRun.Status.PARTIAL)),
        failed=Count("pk", filter=Q(status=PullRun.Status.FAILED)),
        skipped=Count("pk", filter=Q(status=PullRun.Status.SKIPPED)),
    )
    decided = counts["succeeded"] + counts["partial"] + counts["failed"]
    recent = list(runs.finished().exclude(status=PullRun.Status.SKIPPED).order_by("-created_at", "-pk")[:30])
    recent.reverse()
    durations = [r.duration.total_seconds() for r in recent if r.duration is not None]
    last_success = runs.filter(status=PullRun.Status.SUCCEEDED).order_by("-created_at").first()
    # Station outcomes, not run outcomes: a run where 16 of 20 stations stored data is partial, yet 80 % of its
    # station pulls worked; counted by runs alone a configuration with one hopeless station shows 0 % forever.
    stations = runs.finished().aggregate(succeeded=Sum("stations_succeeded"), failed=Sum("stations_failed"))
    station_pulls = (stations["succeeded"] or 0) + (stations["failed"] or 0)
    last_stored = (
        runs.filter(status__in=[PullRun.Status.SUCCEEDED, PullRun.Status.PARTIAL], stations_succeeded__gt=0)
        .order_by("-created_at")
        .first()
    )
    return {
        "counts": counts,
        "success_rate": round(100 * counts["succeeded"] / decided) if decided else None,
        "station_pulls": station_pulls,
        "station_pulls_succeeded": stations["succeeded"] or 0,
        "station_success_rate": round(100 * (stations["succeeded"] or 0) / station_pulls) if station_pulls else None,
        "last_stored": last_stored,
        "mean_duration": dt.timedelta(seconds=round(statistics.fmean(durations), 1)) if durations else None,
        "last_success": last_success,
        "recent_runs": recent,
    }


def batch_summary(run: PullRun) -> dict:
    """How far a run's batches are, and what the running ones fetch now ("batch 3 of 12: 200 stations, page 2")."""
    batches = list(run.batches.order_by("number").only("number", "status", "stations", "phase", "pages_fetched"))
    running = [b for b in batches if b.status == PullRunBatch.Status.RUNNING]
    finished = sum(1 for b in batches if b.status == PullRunBatch.Status.FINISHED)
    return {"total": len(batches), "finished": finished, "running": running}


def quota_left() -> RateLimitBucket | None:
    """The hourly USGS quota as its last answer reported it (None before any keyed request)."""
    return RateLimitBucket.objects.filter(quota_remaining__isnull=False).order_by("-quota_seen_at").first()

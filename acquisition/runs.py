"""Run bookkeeping: start a run (or record it as skipped), claim and finish stations, finalize, and the janitor.

Every state change is a conditional `UPDATE … WHERE status IN (…)` whose row count says who won, so concurrent
station tasks, a redelivered task and the janitor can race without double-finishing anything. The database, not an
in-memory flag, keeps one run per configuration: `monitoring.PullRun`'s partial unique constraint
`one_active_run_per_configuration` refuses a second active run, and that trigger is recorded as `skipped`.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, Max, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from acquisition.runlog import ERROR, INFO, WARNING, log
from monitoring.models import Heartbeat, PullRun, PullRunStation
from pulls.models import PullConfiguration, StationProgress

logger = logging.getLogger(__name__)

UNFINISHED = (PullRunStation.Status.PENDING, PullRunStation.Status.RUNNING)


def notify_finished(run: PullRun) -> None:
    """Tell monitoring a run reached a terminal status. An alert failure is logged, never changes the run."""
    try:
        from monitoring.alerts import run_finished

        run_finished(run)
    except Exception:
        logger.exception("alerting failed for run %s; the run's outcome stands", run.pk)


def start_run(
    configuration: PullConfiguration,
    *,
    trigger: str = PullRun.Trigger.SCHEDULE,
    triggered_by: str = "",
    range_start: dt.date | None = None,
    range_end: dt.date | None = None,
    status: str = PullRun.Status.RUNNING,
    task_id: str = "",
) -> PullRun:
    """Create the run and its station rows, status `running` (or `queued`, see queue_run); or, if the configuration
    already has an active run, a `skipped` run saying so. Check `run.status` to tell them apart."""
    locations = list(configuration.memberships.values_list("location_id", flat=True))
    fields = {
        "configuration": configuration,
        "configuration_name": configuration.name,
        "trigger": trigger,
        "data_type": configuration.data_type,
        "strategy": configuration.strategy,
        "range_start": range_start,
        "range_end": range_end,
        "triggered_by": triggered_by,
    }
    running = status == PullRun.Status.RUNNING
    for _attempt in range(2):
        now = timezone.now()
        try:
            with transaction.atomic():
                run = PullRun.objects.create(
                    status=status,
                    started_at=now if running else None,
                    heartbeat_at=now,
                    stations_total=len(locations),
                    task_id=task_id,
                    **fields,
                )
                PullRunStation.objects.bulk_create(
                    PullRunStation(run=run, location_id=pk, heartbeat_at=now) for pk in locations
                )
        except IntegrityError:
            active = PullRun.objects.active().filter(configuration=configuration).first()
            if active is None:
                continue  # the other run ended between our insert and this look: try once more
            return _record_skipped(fields, active)
        break
    else:
        raise RuntimeError(f"could not start a run of configuration {configuration.pk}")

    what = f"{configuration.get_data_type_display().lower()}, {configuration.get_strategy_display().lower()}"
    if range_start or range_end:
        what += f", re-pulling {range_start or 'the start'} to {range_end or 'today'}"
    by = f" by {triggered_by}" if triggered_by else ""
    verb = "started" if running else "queued"
    log(run.pk, f"Run {verb} ({trigger}) for “{configuration.name}”{by}: {len(locations)} stations; {what}.")
    if not locations:
        finalize_run(run.pk)
        run.refresh_from_db()
    return run


def queue_run(
    configuration: PullConfiguration,
    trigger: str,
    triggered_by: str = "",
    range_start: dt.date | None = None,
    range_end: dt.date | None = None,
) -> PullRun:
    """Record a run the moment someone asks for it (status `queued`, its stations pending), before any worker has
    it, so "Run now" can show it at once; or a `skipped` run with its reason when one is already active (the
    partial unique constraint decides). The task then takes it over with `take_over(run_id, task_id)`.
    A date range makes it a backfill: that range is re-pulled and upserted, progress never moves backwards."""
    return start_run(
        configuration,
        trigger=trigger,
        triggered_by=triggered_by,
        range_start=range_start,
        range_end=range_end,
        status=PullRun.Status.QUEUED,
    )


def take_over(run_id: int, task_id: str) -> PullRun | None:
    """The run_configuration task `task_id` starts the queued run `run_id`. Returns the run when this task owns it
    (it took it over now, or took it over before and is being retried), else None (another task has it, or it is
    over)."""
    now = timezone.now()
    PullRun.objects.filter(pk=run_id, status=PullRun.Status.QUEUED).update(
        status=PullRun.Status.RUNNING, started_at=now, heartbeat_at=now, task_id=task_id
    )
    run = PullRun.objects.filter(pk=run_id, status=PullRun.Status.RUNNING, task_id=task_id).first()
    if run is not None and run.started_at == now:
        log(run.pk, f"Run started: a worker took it over; {run.stations_total} stations to pull.")
    return run


def own_active_run(configuration_id: int, task_id: str) -> PullRun | None:
    """The active run a run_configuration task with this id already started (its retry resumes the fan-out)."""
    if not task_id:
        return None
    return PullRun.objects.active().filter(configuration_id=configuration_id, task_id=task_id).first()


def pending_locations(run_id: int) -> list[int]:
    return list(
        PullRunStation.objects.filter(run_id=run_id, status=PullRunStation.Status.PENDING).values_list(
            "location_id", flat=True
        )
    )


def _record_skipped(fields: dict, active: PullRun) -> PullRun:
    now = timezone.now()
    message = (
        f"Skipped: run #{active.pk} of this configuration is still {active.status} (started "
        f"{(active.started_at or active.created_at):%Y-%m-%d %H:%M} UTC). A configuration never runs twice at once; "
        "this trigger needs no action, the next scheduled run follows as usual."
    )
    run = PullRun.objects.create(
        status=PullRun.Status.SKIPPED, started_at=now, finished_at=now, message=message, **fields
    )
    log(run.pk, message, level=WARNING)
    notify_finished(run)
    return run


def station_silent_after() -> dt.timedelta:
    """A running station silent this long is presumed lost (its task vanished); every page, retry and quota wait
    moves its heartbeat, and USGS requests time out well within it."""
    return dt.timedelta(seconds=getattr(settings, "ACQUISITION_STATION_SILENT_SECONDS", 300))


def claim_station(run_id: int, location_id: int, *, worker: str = "") -> PullRunStation | None:
    """Mark the station running on `worker`. None if the run or station is over, or if another task is working on
    it right now (a running station whose heartbeat is fresh): a duplicate message is then a no-op.

    A station is claimed again when the janitor put it back to pending (its worker was lost) or when its own
    heartbeat went silent. Its request count keeps what the earlier attempts spent (they made real requests); its
    page and window counters restart with the attempt.
    """
    now = timezone.now()
    claimable = Q(status=PullRunStation.Status.PENDING) | Q(
        Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - station_silent_after()),
        status=PullRunStation.Status.RUNNING,
    )
    claimed = (
        PullRunStation.objects.filter(claimable, run_id=run_id, location_id=location_id)
        .filter(run__status__in=PullRun.ACTIVE_STATUSES)
        .update(
            status=PullRunStation.Status.RUNNING,
            attempts=F("attempts") + 1,
            started_at=Coalesce("started_at", now),
            heartbeat_at=now,
            worker=worker,
            windows_done=0,
            pages_fetched=0,
        )
    )
    if not claimed:
        return None
    PullRun.objects.filter(pk=run_id).update(heartbeat_at=now)
    return PullRunStation.objects.select_related("run__configuration", "location").get(
        run_id=run_id, location_id=location_id
    )


def release_station(run_id: int, location_id: int) -> bool:
    """Put a running station back to pending (its task will retry after a database error)."""
    return bool(
        PullRunStation.objects.filter(
            run_id=run_id, location_id=location_id, status=PullRunStation.Status.RUNNING
        ).update(status=PullRunStation.Status.PENDING, worker="", heartbeat_at=timezone.now())
    )


def mark_station_succeeded(run_station_pk: int, **counts: int) -> bool:
    """Inside the station's commit: the station row ends `succeeded` with its counts. False if it was already
    finished (by the janitor), in which case the caller rolls its values back."""
    now = timezone.now()
    return bool(
        PullRunStation.objects.filter(pk=run_station_pk, status__in=UNFINISHED).update(
            status=PullRunStation.Status.SUCCEEDED, finished_at=now, error="", **counts
        )
    )


def drop_unusable_connection() -> None:
    """Close this thread's connection if the server closed it or it broke mid-statement, so the next query opens a
    fresh one (a terminated backend would otherwise fail every bookkeeping query after it). Never inside a
    transaction: that is the caller's (a test's, a request's) to end."""
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


def fail_station(
    run_station: PullRunStation,
    error: str,
    *,
    requests_made: int | None = None,
    status: str = PullRunStation.Status.FAILED,
) -> bool:
    """The station ends `failed` (or `skipped`); its progress row records a failure, its values and newest time stay
    as they were."""
    drop_unusable_connection()
    now = timezone.now()
    extra = {} if requests_made is None else {"requests_made": requests_made}
    failed = PullRunStation.objects.filter(pk=run_station.pk, status__in=UNFINISHED).update(
        status=status, error=error, finished_at=now, **extra
    )
    if failed and status == PullRunStation.Status.FAILED:
        _record_progress_failure(run_station.run.configuration_id, run_station.location_id, error, now)
    return bool(failed)


def _record_progress_failure(configuration_id: int | None, location_id: int, error: str, now: dt.datetime) -> None:
    # update() only: a configuration deleted, or a station removed from it, during the run must not get its
    # progress row back.
    StationProgress.objects.filter(configuration_id=configuration_id, location_id=location_id).update(
        last_error=error, consecutive_failures=F("consecutive_failures") + 1, last_attempt_at=now
    )


def station_finished(run_id: int) -> PullRun | None:
    """After a station's commit: refresh the run's running totals; the last station to finish finalizes the run."""
    _refresh_totals(run_id)
    return finalize_run(run_id)


def _totals(run_id: int) -> dict:
    """The run's totals, from its station rows, in one aggregate query (never read-modify-write increments)."""
    agg = PullRunStation.objects.filter(run_id=run_id).aggregate(
        total=Count("pk"),
        unfinished=Count("pk", filter=Q(status__in=UNFINISHED)),
        succeeded=Count("pk", filter=Q(status=PullRunStation.Status.SUCCEEDED)),
        skipped=Count("pk", filter=Q(status=PullRunStation.Status.SKIPPED)),
        failed=Count("pk", filter=Q(status=PullRunStation.Status.FAILED)),
        requests=Coalesce(Sum("requests_made"), 0),
        inserted=Coalesce(Sum("values_inserted"), 0),
        updated=Coalesce(Sum("values_updated"), 0),
        unchanged=Coalesce(Sum("values_unchanged"), 0),
    )
    return agg


def _refresh_totals(run_id: int) -> dict:
    agg = _totals(run_id)
    # Only while the run is active: a station whose read was overtaken by the finalizer must not write its older
    # (smaller) totals over the final ones.
    PullRun.objects.filter(pk=run_id, status__in=PullRun.ACTIVE_STATUSES).update(
        heartbeat_at=timezone.now(), **_total_fields(agg)
    )
    return agg


def _total_fields(agg: dict) -> dict:
    """The run's counters, from the aggregate over its station rows."""
    return {
        "stations_succeeded": agg["succeeded"],
        "stations_failed": agg["failed"],
        "requests_made": agg["requests"],
        "values_inserted": agg["inserted"],
        "values_updated": agg["updated"],
        "values_unchanged": agg["unchanged"],
    }


CONFIGURATION_DELETED = "The configuration was deleted while this run was in progress; nothing more was pulled."


def _outcome(agg: dict, run_id: int) -> tuple[str, str]:
    total, succeeded, failed = agg["total"], agg["succeeded"], agg["failed"]
    if total == 0:
        return PullRun.Status.FAILED, "The configuration has no stations: add stations to it, then run it again."
    if not PullRun.objects.filter(pk=run_id, configuration__isnull=False).exists():
        status = PullRun.Status.PARTIAL if succeeded else PullRun.Status.FAILED
        done = f" {succeeded} of {total} stations were stored before that." if succeeded else ""
        return status, CONFIGURATION_DELETED + done
    # A station skipped (removed from the configuration during the run) is neither a success nor a failure.
    total -= agg["skipped"]
    if failed == 0 and succeeded == total:
        return PullRun.Status.SUCCEEDED, ""
    sites = list(
        PullRunStation.objects.filter(run_id=run_id)
        .filter(status=PullRunStation.Status.FAILED)
        .values_list("location__monitoring_location_id", flat=True)[:10]
    )
    listed = ", ".join(sites) + ("…" if total - succeeded > len(sites) else "")
    if succeeded == 0:
        first = (
            PullRunStation.objects.filter(run_id=run_id, status=PullRunStation.Status.FAILED)
            .exclude(error="")
            .values_list("error", flat=True)
            .first()
        )
        return PullRun.Status.FAILED, (
            f"Every station failed ({listed}). First error: {first or 'unknown'} "
            "Nothing was stored for them; fix the cause and run again."
        )
    return PullRun.Status.PARTIAL, (
        f"{total - succeeded} of {total} stations failed ({listed}); the others were stored. "
        "The failed stations keep their progress, and the next run retries their windows; the log has the URLs."
    )


def finalize_run(run_id: int) -> PullRun | None:
    """End the run if no station is unfinished. Returns the run if this call ended it (exactly one caller does).

    Finished station rows never change again, so once the aggregate sees none unfinished its totals are final. The
    UPDATE re-checks both conditions itself (`status` active, no unfinished station), so of two stations finishing
    at once exactly one ends the run, and a station put back to pending (resumed) in between stops it.
    """
    agg = _totals(run_id)
    if agg["unfinished"]:
        return None
    status, message = _outcome(agg, run_id)
    now = timezone.now()
    unfinished = PullRunStation.objects.filter(run_id=run_id, status__in=UNFINISHED)
    with transaction.atomic():
        ended = (
            PullRun.objects.filter(pk=run_id, status__in=PullRun.ACTIVE_STATUSES)
            .exclude(Exists(unfinished))
            .update(
                status=status,
                finished_at=now,
                heartbeat_at=now,
                message=message,
                **_total_fields(agg),
            )
        )
        if ended:
            log(
                run_id,
                f"Run finished: {status}. {agg['succeeded']} of {agg['total']} stations succeeded; "
                f"{agg['requests']} requests; values inserted {agg['inserted']}, updated {agg['updated']}, "
                f"unchanged {agg['unchanged']}.",
                level=INFO if status == PullRun.Status.SUCCEEDED else WARNING,
            )
    if not ended:
        return None
    run = PullRun.objects.get(pk=run_id)
    notify_finished(run)
    return run


# A worker writes its heartbeat every 15 s (streamflow/celery.py): two minutes of silence is eight missed beats.
WORKER_LOST_AFTER = dt.timedelta(minutes=2)
# A resumed or re-sent station that is lost again this many times fails: something kills it every time.
MAX_RESUMES = 3


def stale_after_default() -> dt.timedelta:
    """How long a pending station (or a queued run) may wait before the janitor sends its task again. Long: its
    task may simply be queued behind other runs' stations; a repeat is harmless (claim_station ignores a duplicate)
    but costs a queue slot."""
    return dt.timedelta(seconds=getattr(settings, "ACQUISITION_PENDING_SILENT_SECONDS", 900))


def _send_station(run_id: int, location_id: int) -> None:
    from acquisition.tasks import run_station  # tasks imports this module

    run_station.delay(run_id, location_id)


def _send_run(run: PullRun) -> None:
    from acquisition.tasks import run_configuration

    run_configuration.delay(run.configuration_id, run.trigger, run.triggered_by, run_id=run.pk)


def _ago(now: dt.datetime, then: dt.datetime | None) -> str:
    if then is None:
        return "ever"
    minutes = max(0, int((now - then).total_seconds() // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def janitor(*, now: dt.datetime | None = None, stale_after: dt.timedelta | None = None) -> list[int]:
    """Resume the stations whose task was lost; finalize the runs nothing more can change. Runs every minute.

    - A running station whose worker stopped beating (WORKER_LOST_AFTER), or which itself went silent
      (station_silent_after), goes back to pending and its task is sent again ("worker X lost; station resumed").
    - A pending station (or a queued run) silent for `stale_after` has its task sent again: the broker may have
      lost it. A merely queued task then finds its station claimed and does nothing.
    - A station lost MAX_RESUMES times fails; a run whose stations all finished is finalized (also when the task
      that should have finalized it died in between). Returns the ids of the runs it ended.
    """
    now = now or timezone.now()
    pending_silent = stale_after_default() if stale_after is None else stale_after
    worker_seen = {
        name.removeprefix("worker:"): seen
        for name, seen in Heartbeat.objects.filter(name__startswith="worker:").values_list("name", "seen_at")
    }
    ended: list[int] = []
    for run in PullRun.objects.active():
        if run.status == PullRun.Status.QUEUED:
            _look_after_queued(run, now, pending_silent)
        else:
            for station in run.stations.filter(status__in=UNFINISHED).select_related("location"):
                _look_after_station(run, station, now, pending_silent, worker_seen)
        if finalize_run(run.pk) is not None:
            ended.append(run.pk)
    return ended


def _look_after_station(run, station, now, pending_silent, worker_seen) -> None:
    last = station.heartbeat_at or run.heartbeat_at or run.created_at
    if station.status == PullRunStation.Status.RUNNING:
        seen = worker_seen.get(station.worker) if station.worker else None
        if seen is not None and seen < now - WORKER_LOST_AFTER:
            why = f"Worker {station.worker} lost (no heartbeat for {_ago(now, seen)})"
        elif last < now - station_silent_after():
            on = f" on worker {station.worker}" if station.worker else ""
            why = f"No sign of life from this station{on} for {_ago(now, last)}"
        else:
            return
    elif last < now - pending_silent:
        why = f"Its task was not picked up for {_ago(now, last)} (lost from the queue, or queued behind others)"
    else:
        return
    if station.resumes >= MAX_RESUMES:
        error = (
            f"{why}; given up after {MAX_RESUMES} resumes. Nothing was stored for this station; the next run "
            "retries its window."
        )
        if fail_station(station, error):
            log(run.pk, error, level=ERROR, location_id=station.location_id)
        return
    # Conditional on what we looked at: a station that moved meanwhile (claimed, finished) is left alone.
    resumed = PullRunStation.objects.filter(
        pk=station.pk, status=station.status, heartbeat_at=station.heartbeat_at
    ).update(status=PullRunStation.Status.PENDING, worker="", heartbeat_at=now, resumes=F("resumes") + 1)
    if resumed:
        verb = "resumed" if station.status == PullRunStation.Status.RUNNING else "sent again"
        log(
            run.pk,
            f"{why}; station {verb} (attempt {station.attempts + 1}).",
            level=WARNING,
            location_id=station.location_id,
        )
        _send_station(run.pk, station.location_id)


def _look_after_queued(run: PullRun, now: dt.datetime, pending_silent: dt.timedelta) -> None:
    last = run.heartbeat_at or run.created_at
    if last >= now - pending_silent:
        return
    if run.configuration_id is None:
        for station in run.stations.filter(status__in=UNFINISHED):
            fail_station(station, CONFIGURATION_DELETED)
        return
    resumes = PullRunStation.objects.filter(run=run).aggregate(m=Coalesce(Max("resumes"), 0))["m"]
    if resumes >= MAX_RESUMES:
        error = f"No worker took this queued run in {_ago(now, last)}, after {MAX_RESUMES} tries; check /health/."
        for station in run.stations.filter(status__in=UNFINISHED):
            fail_station(station, error)
        log(run.pk, error, level=ERROR)
        return
    if PullRun.objects.filter(pk=run.pk, status=PullRun.Status.QUEUED, heartbeat_at=run.heartbeat_at).update(
        heartbeat_at=now
    ):
        PullRunStation.objects.filter(run=run).update(resumes=F("resumes") + 1)
        log(run.pk, f"No worker took this queued run for {_ago(now, last)}; its task was sent again.", level=WARNING)
        _send_run(run)


def give_up_station(run_id: int, location_id: int, error: str) -> PullRunStation | None:
    """Fail a station by ids (its task gave up) and finalize the run if it was the last."""
    station = PullRunStation.objects.select_related("run").filter(run_id=run_id, location_id=location_id).first()
    if station is None:
        return None
    if fail_station(station, error):
        log(run_id, error, level=ERROR, location_id=location_id)
    station_finished(run_id)
    station.refresh_from_db()
    return station

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
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from acquisition.runlog import ERROR, INFO, WARNING, log
from monitoring.models import PullRun, PullRunStation
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
) -> PullRun:
    """Create the run and its station rows, status `running`; or, if the configuration already has an active run,
    a `skipped` run saying so. Check `run.status` to tell them apart."""
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
    for _attempt in range(2):
        now = timezone.now()
        try:
            with transaction.atomic():
                run = PullRun.objects.create(
                    status=PullRun.Status.RUNNING,
                    started_at=now,
                    heartbeat_at=now,
                    stations_total=len(locations),
                    **fields,
                )
                PullRunStation.objects.bulk_create(PullRunStation(run=run, location_id=pk) for pk in locations)
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
    log(run.pk, f"Run started ({trigger}) for “{configuration.name}”: {len(locations)} stations; {what}.")
    if not locations:
        finalize_run(run.pk)
        run.refresh_from_db()
    return run


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


def claim_station(run_id: int, location_id: int) -> PullRunStation | None:
    """Mark the station running (again, if a redelivered task picks it up). None if the run or station is over."""
    now = timezone.now()
    claimed = PullRunStation.objects.filter(
        run_id=run_id,
        location_id=location_id,
        status__in=UNFINISHED,
        run__status__in=PullRun.ACTIVE_STATUSES,
    ).update(
        status=PullRunStation.Status.RUNNING,
        attempts=F("attempts") + 1,
        started_at=Coalesce("started_at", now),
        windows_done=0,
        pages_fetched=0,
    )
    if not claimed:
        return None
    PullRun.objects.filter(pk=run_id).update(heartbeat_at=now)
    return PullRunStation.objects.select_related("run__configuration", "location").get(
        run_id=run_id, location_id=location_id
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


def fail_station(run_station: PullRunStation, error: str, *, requests_made: int | None = None) -> bool:
    """The station ends `failed`; its progress row records the error, its values and newest time stay as they were."""
    now = timezone.now()
    extra = {} if requests_made is None else {"requests_made": requests_made}
    failed = PullRunStation.objects.filter(pk=run_station.pk, status__in=UNFINISHED).update(
        status=PullRunStation.Status.FAILED, error=error, finished_at=now, **extra
    )
    if failed:
        _record_progress_failure(run_station.run.configuration_id, run_station.location_id, error, now)
    return bool(failed)


def _record_progress_failure(configuration_id: int | None, location_id: int, error: str, now: dt.datetime) -> None:
    if configuration_id is None:
        return
    progress, _ = StationProgress.objects.get_or_create(configuration_id=configuration_id, location_id=location_id)
    StationProgress.objects.filter(pk=progress.pk).update(
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
        heartbeat_at=timezone.now(),
        stations_succeeded=agg["succeeded"],
        stations_failed=agg["failed"],
        requests_made=agg["requests"],
        values_inserted=agg["inserted"],
        values_updated=agg["updated"],
        values_unchanged=agg["unchanged"],
    )
    return agg


def _outcome(agg: dict, run_id: int) -> tuple[str, str]:
    total, succeeded, failed = agg["total"], agg["succeeded"], agg["failed"]
    if total == 0:
        return PullRun.Status.FAILED, "The configuration has no stations: add stations to it, then run it again."
    if failed == 0 and succeeded == total:
        return PullRun.Status.SUCCEEDED, ""
    sites = list(
        PullRunStation.objects.filter(run_id=run_id)
        .exclude(status=PullRunStation.Status.SUCCEEDED)
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
                stations_succeeded=agg["succeeded"],
                stations_failed=agg["failed"],
                requests_made=agg["requests"],
                values_inserted=agg["inserted"],
                values_updated=agg["updated"],
                values_unchanged=agg["unchanged"],
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


def stale_after_default() -> dt.timedelta:
    # Longer than the longest station task (its hard time limit) plus slack: a live task always beats it.
    seconds = getattr(settings, "ACQUISITION_STALE_RUN_SECONDS", None) or settings.CELERY_TASK_TIME_LIMIT + 600
    return dt.timedelta(seconds=seconds)


def janitor(*, now: dt.datetime | None = None, stale_after: dt.timedelta | None = None) -> list[int]:
    """Fail the unfinished stations of runs that stopped showing signs of life, and finalize those runs.

    A run's heartbeat moves with every page, retry and station; a run silent for longer than any station task may
    take lost its tasks (worker killed, broker flushed). Runs whose stations all finished but that were never
    finalized (the finalizing task died in between) are finalized too. Returns the ids of runs it ended.
    """
    now = now or timezone.now()
    cutoff = now - (stale_after or stale_after_default())
    ended: list[int] = []
    active = PullRun.objects.active().annotate(last_sign=Coalesce("heartbeat_at", "started_at", "created_at"))
    for run in active:
        unfinished = PullRunStation.objects.filter(run=run, status__in=UNFINISHED).select_related("location")
        if unfinished.exists() and run.last_sign >= cutoff:
            continue
        if unfinished.exists():
            error = (
                f"No sign of life from this run since {run.last_sign:%Y-%m-%d %H:%M} UTC: its worker was lost or its "
                "task vanished. Nothing was stored for this station; the next run retries its window."
            )
            for station in unfinished:
                fail_station(station, error)
            log(run.pk, f"Janitor: {error}", level=ERROR)
        if finalize_run(run.pk) is not None:
            ended.append(run.pk)
    return ended

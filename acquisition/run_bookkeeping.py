"""Run bookkeeping: start a run (or record it as skipped), claim and finish stations, finalize, and the janitor.

Every state change is a conditional `UPDATE … WHERE status IN (…)` whose row count says who won, so concurrent
station tasks, a redelivered task and the janitor can race without double-finishing anything. The database, not an
in-memory flag, keeps one run per configuration: `acquisition.PullRun`'s partial unique constraint
`one_active_run_per_configuration` refuses a second active run, and that trigger is recorded as `skipped`.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from acquisition.models import PullRun, PullRunBatch, PullRunStation, RateLimitBucket
from acquisition.planning import plan_batches
from acquisition.runlog import ERROR, INFO, WARNING, log
from acquisition.signals import run_finished
from pulls.models import PullConfiguration, StationProgress
from stations.parameters import DISCHARGE as PARAMETER_DISCHARGE

logger = logging.getLogger("acquisition.runs")  # its name before the rename, shared with runlog (log filters)

UNFINISHED = (PullRunStation.Status.PENDING, PullRunStation.Status.RUNNING)


def notify_finished(run: PullRun) -> None:
    """Tell whoever listens (monitoring's alerts) that a run reached a terminal status. A receiver's failure is
    logged, never changes the run."""
    for receiver, result in run_finished.send_robust(sender=PullRun, run=run):
        if isinstance(result, Exception):
            logger.error("alerting failed for run %s (%s); the run's outcome stands", run.pk, receiver, exc_info=result)


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
    # One member per series pulled: each station's selections (stations.parameters), each with its own progress.
    selections = configuration.selections()
    fields = {
        "configuration": configuration,
        "configuration_name": configuration.name,
        "trigger": trigger,
        "data_type": configuration.data_type,
        "strategy": configuration.strategy,
        "start_date": configuration.start_date,
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
                    stations_total=len(locations) * len(selections),
                    task_id=task_id,
                    **fields,
                )
                PullRunStation.objects.bulk_create(
                    PullRunStation(run=run, location_id=pk, parameter_code=code, statistic_id=stat, heartbeat_at=now)
                    for pk in locations
                    for code, stat in selections
                )
                batches = plan_batches(run, now)
        except IntegrityError:
            active = PullRun.objects.active().filter(configuration=configuration).first()
            if active is None:
                continue  # the other run ended between our insert and this look: try once more
            return _record_skipped(fields, active)
        break
    else:
        raise RuntimeError(f"could not start a run of configuration {configuration.pk}")

    what = f"{configuration.get_data_type_display().lower()}, {configuration.get_strategy_display().lower()}"
    if configuration.parameter_codes != [PARAMETER_DISCHARGE] or len(selections) > 1:
        what = f"{configuration.parameter_names} ({len(selections)} series a station), {what}"
    if range_start or range_end:
        what += f", re-pulling {range_start or 'the start'} to {range_end or 'today'}"
    by = f" by {triggered_by}" if triggered_by else ""
    verb = "started" if running else "queued"
    shared = f" in {batches} batch{'es' if batches != 1 else ''} that share their requests" if locations else ""
    log(
        run.pk,
        f"Run {verb} ({trigger}) for “{configuration.name}”{by}: {len(locations):,} stations{shared}; {what}."
        + quota_note(batches),
    )
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
        log(run.pk, f"Run started: a worker took it over; {run.stations_total:,} stations to pull.")
    return run


def own_active_run(configuration_id: int, task_id: str) -> PullRun | None:
    """The active run a run_configuration task with this id already started (its retry resumes the fan-out)."""
    if not task_id:
        return None
    return PullRun.objects.active().filter(configuration_id=configuration_id, task_id=task_id).first()


def pending_batches(run_id: int) -> list[int]:
    """Numbers of the run's batches waiting for a task."""
    return list(
        PullRunBatch.objects.filter(run_id=run_id, status=PullRunBatch.Status.PENDING)
        .order_by("number")
        .values_list("number", flat=True)
    )


def quota_note(batches: int) -> str:
    """The run's expected requests beside the quota USGS last reported (a run can outgrow what is left)."""
    bucket = RateLimitBucket.objects.filter(quota_remaining__isnull=False).first()
    if bucket is None or not batches:
        return ""
    need = 2 * batches
    note = f" It needs about {need} USGS requests plus pages; {bucket.quota_remaining} of the hourly quota were left"
    if bucket.quota_seen_at:
        note += f" at {bucket.quota_seen_at:%H:%M} UTC"
    return note + "."


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
    return dt.timedelta(seconds=settings.ACQUISITION_STATION_SILENT_SECONDS)


def claim_batch(run_id: int, number: int, *, worker: str = "") -> tuple[PullRunBatch, list[PullRunStation]] | None:
    """Mark batch `number` running on `worker`, with its unfinished members; returns (batch, members) or None.

    None if the run is over, the batch finished, or another task is working on it right now (a running batch
    whose heartbeat is fresh): a duplicate message is then a no-op. A batch is claimed again when the janitor put it
    back to pending or its heartbeat went silent. Each claim counts an attempt on the batch and on its members:
    a member commits only while its attempt number is still the one it was claimed with (fencing). Requests of
    earlier attempts stay counted (they were made); page and window counters restart with the attempt.
    """
    now = timezone.now()
    claimable = Q(status=PullRunBatch.Status.PENDING) | Q(
        Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - station_silent_after()),
        status=PullRunBatch.Status.RUNNING,
    )
    # What a claim sets on the batch and on each of its unfinished members alike: a new attempt on this worker.
    attempt = {
        "attempts": F("attempts") + 1,
        "started_at": Coalesce("started_at", now),
        "heartbeat_at": now,
        "worker": worker,
        "windows_done": 0,
        "pages_fetched": 0,
    }
    claimed = (
        PullRunBatch.objects.filter(claimable, run_id=run_id, number=number)
        .filter(run__status__in=PullRun.ACTIVE_STATUSES)
        .update(status=PullRunBatch.Status.RUNNING, values_received=0, **attempt)
    )
    if not claimed:
        return None
    batch = PullRunBatch.objects.select_related("run__configuration").get(run_id=run_id, number=number)
    # The members' attempt is the batch's: one number fences every write of this attempt (DESIGN.md §4.9).
    PullRunStation.objects.filter(batch=batch, status__in=UNFINISHED).update(
        status=PullRunStation.Status.RUNNING, progress=0, **{**attempt, "attempts": batch.attempts}
    )
    PullRun.objects.filter(pk=run_id).update(heartbeat_at=now)
    members = list(
        PullRunStation.objects.filter(batch=batch, status=PullRunStation.Status.RUNNING)
        .select_related("location")
        .order_by("pk")
    )
    return batch, members


def release_batch(run_id: int, number: int, *, attempt: int) -> bool:
    """Put a running batch and its running members back to pending (its task retries after a database error),
    if they are still at `attempt`: a newer attempt's claim is never undone."""
    now = timezone.now()
    with transaction.atomic():
        released = PullRunBatch.objects.filter(
            run_id=run_id, number=number, status=PullRunBatch.Status.RUNNING, attempts=attempt
        ).update(status=PullRunBatch.Status.PENDING, worker="", heartbeat_at=now)
        if released:
            PullRunStation.objects.filter(
                run_id=run_id, batch__number=number, status=PullRunStation.Status.RUNNING, attempts=attempt
            ).update(status=PullRunStation.Status.PENDING, worker="", heartbeat_at=now)
    return bool(released)


def mark_station_succeeded(run_station_pk: int, *, attempt: int | None = None, **counts: int) -> bool:
    """Inside the station's commit: the station row ends `succeeded` with its counts. False if it was already
    finished or claimed again by a newer attempt, in which case the caller rolls its values back."""
    now = timezone.now()
    rows = PullRunStation.objects.filter(pk=run_station_pk, status__in=UNFINISHED)
    if attempt is not None:
        rows = rows.filter(attempts=attempt)
    return bool(rows.update(status=PullRunStation.Status.SUCCEEDED, finished_at=now, error="", progress=100, **counts))


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
    attempt: int | None,
    status: str = PullRunStation.Status.FAILED,
    configuration_id: int | None = None,
) -> bool:
    """The station ends `failed` (or `skipped`) if it is still unfinished at `attempt` (None: whatever its
    attempt, for a run no attempt ever claimed); its progress row records a failure, its values and newest time
    stay as they were. One transaction: the run row and the progress row never disagree."""
    drop_unusable_connection()
    now = timezone.now()
    rows = PullRunStation.objects.filter(pk=run_station.pk, status__in=UNFINISHED)
    if attempt is not None:
        rows = rows.filter(attempts=attempt)
    with transaction.atomic():
        failed = rows.update(status=status, error=error, finished_at=now)
        if failed and status == PullRunStation.Status.FAILED:
            if configuration_id is None:
                configuration_id = (
                    PullRun.objects.filter(pk=run_station.run_id).values_list("configuration_id", flat=True).first()
                )
            _record_progress_failure(configuration_id, run_station, error, now)
    return bool(failed)


def _record_progress_failure(
    configuration_id: int | None, run_station: PullRunStation, error: str, now: dt.datetime
) -> None:
    # update() only: a configuration deleted, or a station removed from it, during the run must not get its
    # progress row back.
    StationProgress.objects.filter(
        configuration_id=configuration_id,
        location_id=run_station.location_id,
        parameter_code=run_station.parameter_code,
        statistic_id=run_station.statistic_id,
    ).update(last_error=error, consecutive_failures=F("consecutive_failures") + 1, last_attempt_at=now)


def batch_finished(run_id: int, batch_pk: int, *, requests_made: int, attempt: int | None = None) -> PullRun | None:
    """After a batch's attempt: its request count (unless a newer attempt owns it), `finished` once none of its
    members is left unfinished, the run's running totals; the last batch to finish finalizes the run."""
    now = timezone.now()
    mine = PullRunBatch.objects.filter(pk=batch_pk)
    if attempt is not None:
        mine = mine.filter(attempts=attempt)
    mine.update(requests_made=requests_made, heartbeat_at=now)
    unfinished = PullRunStation.objects.filter(batch_id=batch_pk, status__in=UNFINISHED)
    PullRunBatch.objects.filter(pk=batch_pk).exclude(Exists(unfinished)).update(
        status=PullRunBatch.Status.FINISHED, finished_at=now, phase=""
    )
    return station_finished(run_id)


def station_finished(run_id: int) -> PullRun | None:
    """After stations finished: refresh the run's running totals; the last one to finish finalizes the run."""
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
        station_requests=Coalesce(Sum("requests_made"), 0),
        inserted=Coalesce(Sum("values_inserted"), 0),
        updated=Coalesce(Sum("values_updated"), 0),
        unchanged=Coalesce(Sum("values_unchanged"), 0),
    )
    # A batch's request served all its members: it is counted once, on the batch.
    batches = PullRunBatch.objects.filter(run_id=run_id).aggregate(n=Coalesce(Sum("requests_made"), 0))["n"]
    agg["requests"] = agg.pop("station_requests") + batches
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
                f"Run finished: {status}. {agg['succeeded']:,} of {agg['total']:,} stations succeeded; "
                f"{agg['requests']:,} requests; values inserted {agg['inserted']:,}, updated {agg['updated']:,}, "
                f"unchanged {agg['unchanged']:,}.",
                level=INFO if status == PullRun.Status.SUCCEEDED else WARNING,
            )
    if not ended:
        return None
    run = PullRun.objects.get(pk=run_id)
    notify_finished(run)
    return run


def give_up_batch(run_id: int, number: int, error: str, *, attempt: int | None) -> PullRunBatch | None:
    """Fail a batch's unfinished members still at `attempt` (its task gave up) and finalize the run if it was the
    last."""
    batch = PullRunBatch.objects.select_related("run").filter(run_id=run_id, number=number).first()
    if batch is None:
        return None
    failed = 0
    for station in batch.members.filter(status__in=UNFINISHED):
        failed += fail_station(station, error, configuration_id=batch.run.configuration_id, attempt=attempt)
    if failed:
        log(run_id, f"Batch {number}: {error}", level=ERROR)
    batch_finished(run_id, batch.pk, requests_made=batch.requests_made)
    batch.refresh_from_db()
    return batch

"""The janitor (every minute): resume the batches whose task was lost, finalize the runs nothing more can change.

It works from what the database says — each batch's heartbeat and worker, the workers' own heartbeats — and every
change it makes is conditional on what it looked at, so it can race a live worker, a redelivered task or another
janitor without double-sending or double-finishing anything.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max
from django.db.models.functions import Coalesce
from django.utils import timezone

from acquisition.models import Heartbeat, PullRun, PullRunBatch, PullRunStation
from acquisition.planning import plan_batches
from acquisition.runlog import ERROR, WARNING, log
from acquisition.runs import CONFIGURATION_DELETED, UNFINISHED, fail_station, finalize_run, station_silent_after

# A worker writes its heartbeat every 15 s (streamflow/celery.py): two minutes of silence is eight missed beats.
WORKER_LOST_AFTER = dt.timedelta(minutes=2)
# A resumed or re-sent batch that is lost again this many times fails: something kills it every time.
MAX_RESUMES = 3


def stale_after_default() -> dt.timedelta:
    """How long a pending batch (or a queued run) may wait before the janitor sends its task again. Long: its
    task may simply be queued behind other runs' batches; a repeat is harmless (claim_batch ignores a duplicate)
    but costs a queue slot."""
    return dt.timedelta(seconds=getattr(settings, "ACQUISITION_PENDING_SILENT_SECONDS", 900))


def _send_batch(run_id: int, number: int) -> None:
    from acquisition.tasks import run_batch  # tasks imports this module

    run_batch.delay(run_id, number)


def _send_run(run: PullRun) -> None:
    from acquisition.tasks import run_configuration

    run_configuration.delay(run.configuration_id, run.trigger, run.triggered_by, run_id=run.pk)


def _ago(now: dt.datetime, then: dt.datetime | None) -> str:
    if then is None:
        return "ever"
    minutes = max(0, int((now - then).total_seconds() // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def janitor(*, now: dt.datetime | None = None, stale_after: dt.timedelta | None = None) -> list[int]:
    """Resume the batches whose task was lost; finalize the runs nothing more can change. Runs every minute.

    - A running batch whose worker stopped beating (WORKER_LOST_AFTER), or which itself went silent
      (station_silent_after), goes back to pending with its unfinished members and its task is sent again
      ("worker X lost; batch resumed").
    - A pending batch (or a queued run) silent for `stale_after` has its task sent again: the broker may have
      lost it. A merely queued task then finds its batch claimed and does nothing.
    - A batch lost MAX_RESUMES times fails its unfinished members; a run whose stations all finished is finalized
      (also when the task that should have finalized it died in between). Returns the ids of the runs it ended.
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
            if run.stations.filter(batch__isnull=True, status__in=UNFINISHED).exists():
                plan_batches(run, now)  # stations of a run started before batches existed
            for batch in run.batches.exclude(status=PullRunBatch.Status.FINISHED):
                _look_after_batch(run, batch, now, pending_silent, worker_seen)
        if finalize_run(run.pk) is not None:
            ended.append(run.pk)
    return ended


def _look_after_batch(run, batch: PullRunBatch, now, pending_silent, worker_seen) -> None:
    unfinished = batch.members.filter(status__in=UNFINISHED)
    if not unfinished.exists():
        PullRunBatch.objects.filter(pk=batch.pk).update(status=PullRunBatch.Status.FINISHED, finished_at=now)
        return
    last = batch.heartbeat_at or run.heartbeat_at or run.created_at
    label = f"Batch {batch.number}"
    if batch.status == PullRunBatch.Status.RUNNING:
        seen = worker_seen.get(batch.worker) if batch.worker else None
        if seen is not None and seen < now - WORKER_LOST_AFTER:
            why = f"{label}: worker {batch.worker} lost (no heartbeat for {_ago(now, seen)})"
        elif last < now - station_silent_after():
            on = f" on worker {batch.worker}" if batch.worker else ""
            why = f"{label}: no sign of life{on} for {_ago(now, last)}"
        else:
            return
    elif last < now - pending_silent:
        why = (
            f"{label}: its task was not picked up for {_ago(now, last)} (lost from the queue, or queued behind others)"
        )
    else:
        return
    if batch.resumes >= MAX_RESUMES:
        error = (
            f"{why}; given up after {MAX_RESUMES} resumes. Nothing was stored for this station; the next run "
            "retries its window."
        )
        for station in unfinished:
            fail_station(station, error, configuration_id=run.configuration_id)
        log(run.pk, error, level=ERROR)
        PullRunBatch.objects.filter(pk=batch.pk).update(status=PullRunBatch.Status.FINISHED, finished_at=now)
        return
    # Conditional on what we looked at: a batch that moved meanwhile (claimed, finished) is left alone.
    with transaction.atomic():
        resumed = PullRunBatch.objects.filter(pk=batch.pk, status=batch.status, heartbeat_at=batch.heartbeat_at).update(
            status=PullRunBatch.Status.PENDING, worker="", heartbeat_at=now, resumes=F("resumes") + 1
        )
        if resumed:
            unfinished.update(
                status=PullRunStation.Status.PENDING, worker="", heartbeat_at=now, resumes=F("resumes") + 1
            )
    if resumed:
        verb = "resumed" if batch.status == PullRunBatch.Status.RUNNING else "sent again"
        log(run.pk, f"{why}; batch {verb} (attempt {batch.attempts + 1}).", level=WARNING)
        _send_batch(run.pk, batch.number)


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
            fail_station(station, error, configuration_id=run.configuration_id)
        log(run.pk, error, level=ERROR)
        return
    if PullRun.objects.filter(pk=run.pk, status=PullRun.Status.QUEUED, heartbeat_at=run.heartbeat_at).update(
        heartbeat_at=now
    ):
        PullRunStation.objects.filter(run=run).update(resumes=F("resumes") + 1)
        log(run.pk, f"No worker took this queued run for {_ago(now, last)}; its task was sent again.", level=WARNING)
        _send_run(run)

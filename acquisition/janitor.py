"""The janitor (every minute): resume the batches whose attempt was lost, finalize the runs nothing more can change.

It works from what the database says — each batch's heartbeat, attempt and worker, the workers' own heartbeats —
and every change it makes is conditional on what it looked at (status, heartbeat and attempt), so it can race a
live worker, a redelivered task or another janitor without double-sending or double-finishing anything.

It tells two kinds of quiet apart (DESIGN.md §4.9):
- a batch **claimed and then lost** (running, but its worker stopped beating or it went silent): resumed, and
  counted; one lost MAX_RESUMES times fails its unfinished members ("something kills it every time");
- a batch **waiting in the queue** (pending, never claimed since it was queued or resumed): not lost and never a
  failure — a first load can wait behind the quota for hours. Its task is sent again in case the broker lost it,
  at growing intervals (ACQUISITION_PENDING_SILENT_SECONDS, then twice that, … up to 16 times), so a long queue
  is not flooded with duplicates. Queued runs are treated the same way.
It also sweeps the staging rows that lost attempts left (acquisition.staging.sweep).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max
from django.db.models.functions import Coalesce
from django.dispatch import Signal
from django.utils import timezone

from acquisition import staging
from acquisition.models import Heartbeat, PullRun, PullRunBatch, PullRunStation
from acquisition.planning import plan_batches
from acquisition.run_bookkeeping import (
    CONFIGURATION_DELETED,
    UNFINISHED,
    fail_station,
    finalize_run,
    station_silent_after,
)
from acquisition.runlog import ERROR, WARNING, log
from acquisition.signals import batch_task_due, run_task_due

# A worker writes its heartbeat every 15 s (streamflow/celery.py): two minutes of silence is eight missed beats.
WORKER_LOST_AFTER = dt.timedelta(minutes=2)
# A batch whose attempts are lost this many times fails: something kills it every time.
MAX_RESUMES = 3
# A waiting batch's (or queued run's) task is sent again after the pending silence, then after twice that, …: the
# interval doubles with each send, up to this factor.
MAX_SEND_BACKOFF = 16
# Staging rows of batches finished this recently are swept (their own discard normally emptied them already).
SWEEP_WINDOW = dt.timedelta(minutes=10)


def stale_after_default() -> dt.timedelta:
    """How long a pending batch (or a queued run) may wait before the janitor sends its task again. Long: its
    task may simply be queued behind other runs' batches; a repeat is harmless (claim_batch ignores a duplicate)
    but costs a queue slot."""
    return dt.timedelta(seconds=settings.ACQUISITION_PENDING_SILENT_SECONDS)


def _send_interval(pending_silent: dt.timedelta, sends: int) -> dt.timedelta:
    return pending_silent * min(MAX_SEND_BACKOFF, 2**sends)


def _send_batch(run_id: int, number: int) -> None:
    _ask(batch_task_due, run_id=run_id, number=number)


def _send_run(run: PullRun) -> None:
    _ask(run_task_due, run=run)


def _ask(signal: Signal, **kwargs) -> None:
    """acquisition.tasks (above this module) sends the task; with nobody listening the resume would be lost."""
    if not signal.has_listeners():
        raise RuntimeError("nothing sends the janitor's tasks: acquisition.tasks is not loaded (acquisition.apps)")
    signal.send(sender=__name__, **kwargs)


def _ago(now: dt.datetime, then: dt.datetime | None) -> str:
    if then is None:
        return "ever"
    minutes = max(0, int((now - then).total_seconds() // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def janitor(*, now: dt.datetime | None = None, stale_after: dt.timedelta | None = None) -> list[int]:
    """Resume the batches whose attempt was lost; finalize the runs nothing more can change. Runs every minute.

    - A running batch whose worker stopped beating (WORKER_LOST_AFTER), or which itself went silent
      (station_silent_after), goes back to pending with its unfinished members and its task is sent again
      ("worker X lost; batch resumed"); a batch lost MAX_RESUMES times fails its unfinished members.
    - A pending batch (or a queued run) silent for `stale_after` has its task sent again, at doubling intervals:
      the broker may have lost it. A merely queued task then finds its batch claimed and does nothing. Waiting is
      never a failure.
    - A run whose stations all finished is finalized (also when the task that should have finalized it died in
      between). Returns the ids of the runs it ended.
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
    staging.sweep(now - SWEEP_WINDOW)
    return ended


def _look_after_batch(run, batch: PullRunBatch, now, pending_silent, worker_seen) -> None:
    unfinished = batch.members.filter(status__in=UNFINISHED)
    if not unfinished.exists():
        PullRunBatch.objects.filter(pk=batch.pk).update(status=PullRunBatch.Status.FINISHED, finished_at=now)
        return
    last = batch.heartbeat_at or run.heartbeat_at or run.created_at
    label = f"Batch {batch.number}"
    # Every change below is conditional on the batch as we saw it: a batch that moved meanwhile is left alone.
    seen = PullRunBatch.objects.filter(
        pk=batch.pk, status=batch.status, heartbeat_at=batch.heartbeat_at, attempts=batch.attempts
    )
    if batch.status == PullRunBatch.Status.PENDING:
        if last >= now - _send_interval(pending_silent, batch.sends):
            return
        if seen.update(heartbeat_at=now, sends=F("sends") + 1):
            log(
                run.pk,
                f"{label}: waiting in the queue for {_ago(now, last)} (no worker has taken it yet: the queue is long, "
                "or the broker lost its task); its task was sent again. Waiting is not a failure.",
                level=WARNING,
            )
            _send_batch(run.pk, batch.number)
        return
    seen_worker = worker_seen.get(batch.worker) if batch.worker else None
    if seen_worker is not None and seen_worker < now - WORKER_LOST_AFTER:
        why = f"{label}: worker {batch.worker} lost (no heartbeat for {_ago(now, seen_worker)})"
    elif last < now - station_silent_after():
        on = f" on worker {batch.worker}" if batch.worker else ""
        why = f"{label}: no sign of life{on} for {_ago(now, last)}"
    else:
        return
    if batch.resumes >= MAX_RESUMES:
        error = (
            f"{why}; given up after {MAX_RESUMES} lost attempts. Nothing was stored for this station; the next run "
            "retries its window."
        )
        with transaction.atomic():
            if not seen.update(status=PullRunBatch.Status.FINISHED, finished_at=now):
                return
        for station in unfinished:
            fail_station(station, error, configuration_id=run.configuration_id, attempt=batch.attempts)
        log(run.pk, error, level=ERROR)
        return
    with transaction.atomic():
        resumed = seen.update(
            status=PullRunBatch.Status.PENDING, worker="", heartbeat_at=now, resumes=F("resumes") + 1, sends=0
        )
        if resumed:
            unfinished.filter(attempts=batch.attempts).update(
                status=PullRunStation.Status.PENDING, worker="", heartbeat_at=now, resumes=F("resumes") + 1
            )
    if resumed:
        log(run.pk, f"{why}; batch resumed (attempt {batch.attempts + 1}).", level=WARNING)
        _send_batch(run.pk, batch.number)


def _look_after_queued(run: PullRun, now: dt.datetime, pending_silent: dt.timedelta) -> None:
    last = run.heartbeat_at or run.created_at
    if run.configuration_id is None:
        for station in run.stations.filter(status__in=UNFINISHED):
            fail_station(station, CONFIGURATION_DELETED, attempt=None)
        return
    sends = PullRunStation.objects.filter(run=run).aggregate(m=Coalesce(Max("resumes"), 0))["m"]
    if last >= now - _send_interval(pending_silent, sends):
        return
    if PullRun.objects.filter(pk=run.pk, status=PullRun.Status.QUEUED, heartbeat_at=run.heartbeat_at).update(
        heartbeat_at=now
    ):
        PullRunStation.objects.filter(run=run).update(resumes=F("resumes") + 1)
        log(
            run.pk,
            f"No worker has taken this queued run for {_ago(now, last)} (the queue is long, or the broker lost its "
            "task); its task was sent again. Waiting is not a failure; check /health/ if no worker is running.",
            level=WARNING,
        )
        _send_run(run)

"""Enqueue a run now: "Run now", backfill and re-pull. Pulls asks for it through pulls.run_requests, where
acquisition plugs this module in (AcquisitionConfig.ready); monitoring and the API, above the engine, call it."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from acquisition.models import PullRun


def enqueue_run(
    configuration_id: int,
    triggered_by: str = "",
    range_start: dt.date | None = None,
    range_end: dt.date | None = None,
) -> PullRun:
    """Record the run at once (status `queued`, or `skipped` with its reason when the configuration is already
    running) and send it to the workers directly (`.delay`), never through a one-off PeriodicTask (DESIGN §5).

    With a date range the run is a backfill of that range (trigger `backfill`). Returns the run, so the caller
    can show its page. If the task queue is unreachable the queued run is closed as
    failed (it would otherwise block every later run of the configuration) and the error is raised.
    """
    # Imported here: the web process needs the task only when someone clicks (and tests replace its .delay).
    from acquisition.run_bookkeeping import queue_run
    from acquisition.tasks import run_configuration
    from pulls.models import PullConfiguration

    configuration = PullConfiguration.objects.get(pk=configuration_id)
    backfill = range_start is not None or range_end is not None
    trigger = PullRun.Trigger.BACKFILL if backfill else PullRun.Trigger.MANUAL
    run = queue_run(configuration, trigger, triggered_by, range_start=range_start, range_end=range_end)
    if run.status != PullRun.Status.QUEUED:
        return run  # skipped (already running), or ended at once (no stations)
    try:
        run_configuration.delay(configuration_id, trigger=trigger, triggered_by=triggered_by, run_id=run.pk)
    except Exception:
        _never_started(run)
        raise
    return run


def _never_started(run: PullRun) -> None:
    """Close a run the queue never took, with its stations, in one transaction: never a failed run whose stations
    still say pending (nor the reverse)."""
    with transaction.atomic():
        closed = PullRun.objects.filter(pk=run.pk, status=PullRun.Status.QUEUED).update(
            status=PullRun.Status.FAILED,
            finished_at=timezone.now(),
            message="The task queue was not reachable, so this run never started. Check /health/ and run it again.",
        )
        if closed:
            run.stations.update(status="failed", error="The run never started: the task queue was not reachable.")


def active_run(configuration) -> PullRun | None:
    """The configuration's queued or running run, if any (the "already running" answer of Run now)."""
    return PullRun.objects.active().filter(configuration=configuration).first()

"""Celery tasks: thin wrappers around acquisition.run_bookkeeping and acquisition.smart_append.

`run_configuration` starts (or takes over a queued) run, whose stations were planned into batches that share their
USGS requests (acquisition.planning), and enqueues one `run_batch` task per batch: a batch is the unit of work,
retry and resumption. No chord or result backend is involved: each batch task finishes its members' rows with
conditional updates, and whichever finishes last finalizes the run with a conditional `UPDATE … WHERE status =
'running'`. A batch whose worker is lost is resumed by the `janitor` (every minute, from the workers' heartbeats); a
redelivered or duplicate task finds its batch claimed or finished and does nothing.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.dispatch import receiver

from acquisition import janitor as janitor_module
from acquisition import partitions, run_bookkeeping, smart_append, tallies
from acquisition.models import PullRun, QualityBacklog
from acquisition.signals import batch_task_due, run_task_due
from pulls.models import PullConfiguration
from pulls.schedules import should_run_scheduled

logger = logging.getLogger(__name__)

# A database blip (server restarted, connection terminated) is worth a retry on a fresh connection.
_DB_ERRORS = (OperationalError, InterfaceError)
STATION_DB_RETRIES = 3
STATION_DB_RETRY_SECONDS = 5  # doubled on each retry: 5, 10, 20 s


@shared_task(
    bind=True,
    name="acquisition.tasks.run_configuration",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=_DB_ERRORS,
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=120,
    time_limit=180,
)
def run_configuration(
    self,
    config_id: int,
    trigger: str = PullRun.Trigger.SCHEDULE,
    triggered_by: str = "",
    run_id: int | None = None,
) -> dict:
    """Start a run of configuration `config_id` (or take over the queued run `run_id`) and fan out its batches.

    The run records this task's id, so a retry or redelivery of the same task that finds its own run active sends
    the batches still pending again instead of recording itself as skipped (claim_batch ignores duplicates). A
    scheduled trigger of a configuration paused since beat queued it does nothing (pulls.schedules).
    """
    run_bookkeeping.drop_unusable_connection()  # a retry after a database error must not reuse the broken connection
    task_id = self.request.id or ""
    if run_id is not None:
        run = run_bookkeeping.take_over(run_id, task_id)
        if run is None:
            status = PullRun.objects.filter(pk=run_id).values_list("status", flat=True).first()
            return {"run": run_id, "status": status, "note": "not this task's run"}
    else:
        if trigger == PullRun.Trigger.SCHEDULE:
            ok, reason = should_run_scheduled(config_id)
            if not ok:
                logger.info("%s", reason)
                return {"run": None, "status": "skipped", "note": reason}
        config = PullConfiguration.objects.filter(pk=config_id).first()
        if config is None:
            logger.warning("configuration %s no longer exists; nothing to run", config_id)
            return {"run": None, "status": "missing"}
        run = run_bookkeeping.own_active_run(config_id, task_id) or run_bookkeeping.start_run(
            config, trigger=trigger, triggered_by=triggered_by, task_id=task_id
        )
    if run.is_active:
        for number in run_bookkeeping.pending_batches(run.pk):
            run_batch.delay(run.pk, number)
    return {"run": run.pk, "status": run.status}


@shared_task(
    bind=True,
    name="acquisition.tasks.run_batch",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=STATION_DB_RETRIES,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
)
def run_batch(self, run_id: int, number: int) -> dict:
    """Pull one batch of a run (see acquisition.smart_append.pull_batch).

    USGS failures are recorded as the members' failure (the next run retries their windows). A database error is
    not theirs: the batch goes back to pending and the task retries on a fresh connection, a few times.
    """
    try:
        batch = smart_append.pull_batch(run_id, number, worker=self.request.hostname or "", db_errors=True)
    except _DB_ERRORS as exc:
        # pull_batch put its attempt back to pending (or, the database still down, the janitor will).
        run_bookkeeping.drop_unusable_connection()
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=STATION_DB_RETRY_SECONDS * 2**self.request.retries) from exc
        batch = run_bookkeeping.give_up_batch(
            run_id,
            number,
            f"The database connection kept failing ({type(exc).__name__}: {exc}). Nothing was stored for this "
            "station; the next run retries its window.",
            attempt=getattr(exc, "batch_attempt", None),
        )
    _refresh_quality_soon()
    return {"run": run_id, "batch": number, "status": None if batch is None else batch.status}


def _refresh_quality_soon() -> None:
    """A set commit leaves the quality tallies of what it changed in the backlog: a task refreshes them."""
    if QualityBacklog.objects.exists():
        refresh_quality.delay()


@shared_task(name="acquisition.tasks.refresh_quality", acks_late=True, soft_time_limit=600, time_limit=660)
def refresh_quality() -> int:
    """Refresh the quality tallies the set commits left in the backlog (acquisition.tallies.refresh_backlog)."""
    return tallies.refresh_backlog()


@shared_task(name="acquisition.tasks.ensure_partitions", acks_late=True, soft_time_limit=120, time_limit=150)
def ensure_partitions() -> list[str]:
    """PostgreSQL: create the monthly partitions of continuous values for this month and the next
    CONTINUOUS_PARTITIONS_AHEAD (acquisition.partitions); /health/ fails when the coming month has none."""
    created = partitions.ensure_ahead()
    if created:
        logger.info("Created partitions %s", ", ".join(created))
    dropped = partitions.drop_expired()
    if dropped:
        logger.info("Dropped continuous values older than %s: %s", partitions.retention_horizon(), ", ".join(dropped))
    return created


@shared_task(name="acquisition.tasks.janitor", acks_late=True, soft_time_limit=50, time_limit=55)
def janitor() -> list[int]:
    """Resume batches whose worker was lost; finalize what is over (see acquisition.janitor); and make sure no
    quality tallies wait in the backlog for long (a refresh task lost with the broker)."""
    ended = janitor_module.janitor()
    _refresh_quality_soon()
    return ended


# The janitor (a plain module below this one) asks for tasks to be sent again; they are sent from here.
@receiver(batch_task_due, dispatch_uid="acquisition.tasks.send_batch")
def _send_batch(sender, run_id: int, number: int, **kwargs) -> None:
    run_batch.delay(run_id, number)


@receiver(run_task_due, dispatch_uid="acquisition.tasks.send_run")
def _send_run(sender, run: PullRun, **kwargs) -> None:
    run_configuration.delay(run.configuration_id, run.trigger, run.triggered_by, run_id=run.pk)

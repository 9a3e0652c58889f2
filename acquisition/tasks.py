"""Celery tasks: thin wrappers around acquisition.runs and acquisition.smart_append.

`run_configuration` creates the run and enqueues one small `run_station` task per station. No chord or result
backend is involved: each station task finishes its own row with a conditional update, and whichever finishes last
finalizes the run with a conditional `UPDATE … WHERE status = 'running'`. A station task killed with its worker is
redelivered (acks_late + reject_on_worker_lost) and repeats its idempotent upsert; if it never comes back, the
`janitor` fails the run.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from acquisition import runs, smart_append
from monitoring.models import PullRun
from pulls.models import PullConfiguration

logger = logging.getLogger(__name__)

# Creating a run is a couple of inserts; a database blip is worth a retry (a retried call that finds the run it
# created already active records a `skipped` run, never a second active one).
_DB_ERRORS = (OperationalError, InterfaceError)


@shared_task(
    name="acquisition.tasks.run_configuration",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=_DB_ERRORS,
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=120,
    time_limit=180,
)
def run_configuration(config_id: int, trigger: str = PullRun.Trigger.SCHEDULE, triggered_by: str = "") -> dict:
    """Start a run of configuration `config_id` and fan out its stations."""
    config = PullConfiguration.objects.filter(pk=config_id).first()
    if config is None:
        logger.warning("configuration %s no longer exists; nothing to run", config_id)
        return {"run": None, "status": "missing"}
    run = runs.start_run(config, trigger=trigger, triggered_by=triggered_by)
    if run.is_active:
        for location_id in run.stations.values_list("location_id", flat=True):
            run_station.delay(run.pk, location_id)
    return {"run": run.pk, "status": run.status}


@shared_task(
    name="acquisition.tasks.run_station",
    acks_late=True,
    reject_on_worker_lost=True,
    # No autoretry: a failed station is recorded as failed and the next run retries its window. Only a lost
    # worker re-runs it (redelivery), which the idempotent upsert makes safe.
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
)
def run_station(run_id: int, location_id: int) -> dict:
    """Pull one station of a run (see acquisition.smart_append.pull_station)."""
    station = smart_append.pull_station(run_id, location_id)
    return {"run": run_id, "location": location_id, "status": None if station is None else station.status}


@shared_task(name="acquisition.tasks.janitor", acks_late=True, soft_time_limit=240, time_limit=300)
def janitor() -> list[int]:
    """Fail runs whose station tasks vanished (see acquisition.runs.janitor)."""
    return runs.janitor()

"""What the workers page shows: each Celery worker seen in the last hour, from the database (heartbeats, batches,
stored task results) and, when the broker is Redis, the default queue's length."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone
from django_celery_results.models import TaskResult

from acquisition.models import Heartbeat, PullRunBatch

logger = logging.getLogger(__name__)

SEEN_WITHIN = dt.timedelta(hours=1)
ALIVE_WITHIN = dt.timedelta(minutes=1)  # four heartbeats (15 s apart) missed: not alive


@dataclass
class WorkerRow:
    hostname: str
    seen_at: dt.datetime
    age_seconds: int
    batches: list[PullRunBatch] = field(default_factory=list)
    tasks_succeeded: int = 0
    tasks_failed: int = 0
    batches_finished: int = 0

    @property
    def alive(self) -> bool:
        return self.age_seconds <= ALIVE_WITHIN.total_seconds()


def workers(now: dt.datetime | None = None) -> list[WorkerRow]:
    now = now or timezone.now()
    since = now - SEEN_WITHIN
    rows = {
        hb.name.removeprefix("worker:"): WorkerRow(
            hostname=hb.name.removeprefix("worker:"),
            seen_at=hb.seen_at,
            age_seconds=max(0, int((now - hb.seen_at).total_seconds())),
        )
        for hb in Heartbeat.objects.filter(name__startswith="worker:", seen_at__gte=since).order_by("name")
    }
    if not rows:
        return []
    hosts = list(rows)
    running = PullRunBatch.objects.filter(status=PullRunBatch.Status.RUNNING, worker__in=hosts).select_related("run")
    for batch in running.order_by("run_id", "number"):
        rows[batch.worker].batches.append(batch)
    # Only tasks whose results are stored (django-celery-results; tasks with ignore_result are not).
    results = (
        TaskResult.objects.filter(worker__in=hosts, date_done__gte=since)
        .values("worker")
        .annotate(ok=Count("pk", filter=Q(status="SUCCESS")), failed=Count("pk", filter=Q(status="FAILURE")))
    )
    for r in results:
        rows[r["worker"]].tasks_succeeded, rows[r["worker"]].tasks_failed = r["ok"], r["failed"]
    finished = (
        PullRunBatch.objects.filter(worker__in=hosts, finished_at__gte=since).values("worker").annotate(n=Count("pk"))
    )
    for r in finished:
        rows[r["worker"]].batches_finished = r["n"]
    return list(rows.values())


def queue_length() -> int | None:
    """Messages waiting in the default queue (Redis LLEN); None with another broker or when Redis cannot be read."""
    if not settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        return None
    from streamflow.celery import app

    try:
        with app.connection_for_read() as conn:
            return int(conn.default_channel.client.llen(app.conf.task_default_queue))
    except Exception:
        logger.warning("could not read the queue length from Redis", exc_info=True)
        return None

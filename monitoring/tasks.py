from __future__ import annotations

from celery import shared_task

from . import alerts


@shared_task(name="monitoring.tasks.check_stale_stations", ignore_result=True)
def check_stale_stations() -> dict[str, int]:
    """Every 30 minutes (CELERY_BEAT_SCHEDULE): alert on newly silent gages, clear the recovered ones."""
    return alerts.check_stale_stations()

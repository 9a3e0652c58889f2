"""Celery tasks of the pulls app: thin wrappers over plain functions (the tests call those directly too)."""

from __future__ import annotations

import logging

from celery import shared_task

from . import schedules

logger = logging.getLogger(__name__)


@shared_task
def reconcile_schedules() -> dict:
    """What `manage.py sync_schedules` does, every ten minutes from beat (CELERY_BEAT_SCHEDULE): drift that no
    signal saw (beat writing back a stale task, a task edited by hand) is repaired and logged, not left until
    someone notices."""
    drift = schedules.reconcile(apply=True)
    for item in drift:
        logger.warning("Schedule drift repaired: %s", item)
    return {"drift": len(drift)}

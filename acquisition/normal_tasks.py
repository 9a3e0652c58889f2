"""The slow schedule of the normals and revision notes (acquisition/normals.py); beat runs it every hour and
it refreshes only what is older than NORMALS_REFRESH_DAYS."""

from __future__ import annotations

from celery import shared_task

from acquisition import normals


@shared_task(name="acquisition.normal_tasks.refresh_normals", ignore_result=True)
def refresh_normals() -> str:
    return str(normals.refresh_due())

from __future__ import annotations

from celery import shared_task

from . import alerts


@shared_task(name="monitoring.tasks.check_stale_stations", ignore_result=True)
def check_stale_stations() -> dict[str, int]:
    """Every 30 minutes (CELERY_BEAT_SCHEDULE): alert on newly silent gages, clear the recovered ones."""
    return alerts.check_stale_stations()


@shared_task(bind=True, name="monitoring.tasks.deliver_alert", acks_late=True, ignore_result=True, max_retries=None)
def deliver_alert(self, delivery_id: int) -> None:
    """Send one alert delivery (monitoring.channels); retried with exponential backoff while the receiver fails."""
    from django.conf import settings

    from . import channels

    retries = self.request.retries
    final = retries >= settings.ALERT_DELIVERY_RETRIES
    attempt = channels.attempt_delivery(delivery_id, final=final)
    if attempt is not None and not attempt.ok and attempt.retry and not final:
        raise self.retry(countdown=settings.ALERT_RETRY_BACKOFF_SECONDS * 2**retries)

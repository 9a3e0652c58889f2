from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.dispatch import receiver

from . import alerts, channels, quality_alerts, signals

logger = logging.getLogger(__name__)

ALERT_EMAIL_RETRIES = 5  # about 15 minutes of backoff (30 s, 60 s, … capped at 10 min) before the alert re-arms


@shared_task(name="monitoring.tasks.check_stale_stations", ignore_result=True)
def check_stale_stations() -> dict[str, int]:
    """Every 30 minutes (CELERY_BEAT_SCHEDULE): alert on newly silent gages, clear the recovered ones."""
    return alerts.check_stale_stations()


@shared_task(name="monitoring.tasks.check_quality_alerts", ignore_result=True)
def check_quality_alerts(run_id: int) -> dict[str, int]:
    """After a run (queued by quality_alerts.run_finished): new gaps and flat lines at the stations it stored."""
    return quality_alerts.check_run(run_id)


@shared_task(name="monitoring.tasks.recheck_quality_alerts", ignore_result=True)
def recheck_quality_alerts() -> dict[str, int]:
    """Hourly (CELERY_BEAT_SCHEDULE): clear the quality alerts whose gap or flat line has left the window."""
    return quality_alerts.recheck_active()


@shared_task(name="monitoring.tasks.send_alert_email", bind=True, max_retries=ALERT_EMAIL_RETRIES, ignore_result=True)
def send_alert_email(self, state_id: int, subject: str, body: str) -> None:
    """One alert email, sent on its own (queued by alerts.open_alert after its transaction commits), retried with
    backoff while the mail server fails; after the last try the alert re-arms, so the next occurrence emails."""
    try:
        alerts.deliver(state_id, subject, body)
    except Exception as exc:
        if self.request.retries < self.max_retries:
            logger.warning("Alert email %r failed (%s); retrying", subject, exc)
            raise self.retry(exc=exc, countdown=min(600, 30 * 2**self.request.retries)) from exc
        alerts.give_up(state_id, subject)


@shared_task(bind=True, name="monitoring.tasks.deliver_alert", acks_late=True, ignore_result=True, max_retries=None)
def deliver_alert(self, delivery_id: int) -> None:
    """Send one alert delivery (monitoring.channels); retried with exponential backoff while the receiver fails."""
    retries = self.request.retries
    final = retries >= settings.ALERT_DELIVERY_RETRIES
    attempt = channels.attempt_delivery(delivery_id, final=final)
    if attempt is not None and not attempt.ok and attempt.retry and not final:
        raise self.retry(countdown=settings.ALERT_RETRY_BACKOFF_SECONDS * 2**retries)


# The plain modules below ask for their tasks through monitoring.signals; they are queued here.
@receiver(signals.alert_email_due, dispatch_uid="monitoring.tasks.queue_alert_email")
def _queue_alert_email(sender, state_id: int, subject: str, body: str, **kwargs) -> None:
    send_alert_email.delay(state_id, subject, body)


@receiver(signals.delivery_due, dispatch_uid="monitoring.tasks.queue_delivery")
def _queue_delivery(sender, delivery_id: int, **kwargs) -> None:
    deliver_alert.delay(delivery_id)


@receiver(signals.quality_check_due, dispatch_uid="monitoring.tasks.queue_quality_check")
def _queue_quality_check(sender, run_id: int, **kwargs) -> None:
    check_quality_alerts.delay(run_id)

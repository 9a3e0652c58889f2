"""Alert channels: `notify()` queues one delivery per matching channel; a Celery task sends each, with retries.

The alert machinery (monitoring/alerts.py) decides *when* a condition opens or clears — one alert per condition
until it clears, then a recovery notice — and calls `notify()`; this module decides *where* it goes (the rules)
and *how* (email, signed JSON webhook, Slack, Teams). ALERT_EMAILS keeps working beside it, through alerts.py.

A delivery never blocks the caller: `notify()` writes rows and queues tasks after the caller's transaction
commits. A receiver that hangs is cut off by the timeouts; one that answers 5xx (or 429, or is unreachable) is
retried with exponential backoff; a 4xx other than 408/429 is not retried. After its last attempt a failed delivery
counts against its channel, which is marked failing after AlertChannel.FAILING_AFTER failures in a row.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

import orjson
import urllib3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from pulls.models import PullConfiguration
from streamflow.logs import register_secret

from . import outbound, signals
from .models import AlertChannel, AlertCondition, AlertDelivery, AlertRule

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Streamflow-Signature"
TIMESTAMP_HEADER = "X-Streamflow-Timestamp"
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
RETRIED_STATUSES = {408, 429}


def new_secret() -> str:
    return secrets.token_hex(32)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value: HMAC-SHA256 of "<timestamp>.<body>" with the channel's secret."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (documented in the README): recompute and compare in constant time."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


# --- Queueing -------------------------------------------------------------------------------------------------


def matching_channels(
    condition: str, configuration: PullConfiguration | None, *, recovered: bool = False, failures: int | None = None
) -> list[AlertChannel]:
    """Enabled channels with a rule for `condition` that covers `configuration` (a rule naming no configuration
    covers them all; one naming some covers only those)."""
    channels: dict[int, AlertChannel] = {}
    rules = AlertRule.objects.filter(channel__enabled=True).select_related("channel").prefetch_related("configurations")
    for rule in rules:
        if condition not in rule.conditions or (recovered and not rule.send_recovery):
            continue
        chosen = {c.pk for c in rule.configurations.all()}
        if chosen and (configuration is None or configuration.pk not in chosen):
            continue
        if condition == AlertCondition.CONSECUTIVE_FAILURES and failures is not None and failures < rule.min_failures:
            continue
        channels[rule.channel_id] = rule.channel
    return list(channels.values())


def notify(
    condition: str,
    *,
    subject: str,
    body: str,
    configuration: PullConfiguration | None = None,
    recovered: bool = False,
    failures: int | None = None,
) -> list[AlertDelivery]:
    """Queue a delivery of this alert to every channel whose rules match; returns the deliveries.

    `condition` is an AlertCondition value; `recovered=True` for the notice that it cleared; `failures` (for
    consecutive_failures) lets rules ask for more failures in a row than ALERT_CONSECUTIVE_FAILURES.
    """
    if condition not in AlertCondition.values:
        raise ValueError(f"unknown alert condition {condition!r}; use one of {', '.join(AlertCondition.values)}")
    channels = matching_channels(condition, configuration, recovered=recovered, failures=failures)
    return _queue(channels, condition, subject=subject, body=body, configuration=configuration, recovered=recovered)


def send_test(channel: AlertChannel, *, requested_by: str = "") -> AlertDelivery:
    who = f" by {requested_by}" if requested_by else ""
    body = f"A test alert from Streamflow DataOps, sent{who} to check the channel “{channel.name}”. Nothing is wrong."
    (delivery,) = _queue([channel], AlertCondition.TEST, subject=f"Test alert for {channel.name}", body=body)
    return delivery


def _queue(channels: Iterable[AlertChannel], condition: str, *, subject: str, body: str, **fields):
    deliveries = [
        AlertDelivery.objects.create(channel=ch, condition=condition, subject=subject[:255], body=body, **fields)
        for ch in channels
    ]
    for delivery in deliveries:
        transaction.on_commit(lambda pk=delivery.pk: _enqueue(pk))
    return deliveries


def _enqueue(delivery_pk: int) -> None:
    try:
        signals.ask(signals.delivery_due, delivery_id=delivery_pk)
    except Exception:  # a broker outage must not fail the run that raised the alert; the row stays queued
        logger.warning("could not queue alert delivery %s", delivery_pk, exc_info=True)


# --- Sending ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    ok: bool
    retry: bool  # worth trying again
    result: str
    http_status: int | None = None


def payload(channel: AlertChannel, delivery: AlertDelivery) -> dict:
    """The JSON body each kind of channel expects."""
    title = f"{'Recovered: ' if delivery.recovered else ''}{delivery.subject}"
    if channel.kind == AlertChannel.Kind.SLACK:
        icon = ":white_check_mark:" if delivery.recovered else ":rotating_light:"
        return {"text": f"{icon} *{title}*\n{delivery.body}"}
    if channel.kind == AlertChannel.Kind.TEAMS:
        # An Adaptive Card message: what Teams' Workflows ("Post to a channel when a webhook request is received")
        # incoming webhooks accept.
        return {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [
                            {"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": True},
                            {"type": "TextBlock", "text": delivery.body, "wrap": True},
                        ],
                    },
                }
            ],
        }
    config = delivery.configuration
    return {
        "delivery_id": delivery.pk,
        "condition": delivery.condition,
        "recovered": delivery.recovered,
        "test": delivery.condition == AlertCondition.TEST,
        "subject": delivery.subject,
        "body": delivery.body,
        "configuration": {"id": config.pk, "name": config.name} if config else None,
        "created_at": delivery.created_at.isoformat(),
        "site_url": settings.SITE_URL,
    }


def _post(channel: AlertChannel, delivery: AlertDelivery) -> Attempt:
    register_secret(channel.url)  # a Slack/Teams URL is a credential: never in a log line
    register_secret(channel.secret)
    try:
        target = outbound.resolve_webhook(channel.url)
    except ValidationError as exc:
        return Attempt(False, False, f"Refused to send: {' '.join(exc.messages)}")
    body = orjson.dumps(payload(channel, delivery))
    headers = {"Content-Type": "application/json", "User-Agent": "streamflow-dataops alerts"}
    if channel.kind == AlertChannel.Kind.WEBHOOK and channel.secret:
        timestamp = str(int(time.time()))
        headers[TIMESTAMP_HEADER] = timestamp
        headers[SIGNATURE_HEADER] = sign(channel.secret, timestamp, body)
    try:
        # Connects to the address just checked, whatever the name resolves to by now; a redirect is an answer.
        status = outbound.post(target, body, headers, connect=CONNECT_TIMEOUT, read=READ_TIMEOUT)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        return Attempt(False, True, f"Could not reach {channel.destination}: {type(exc).__name__}.")
    if 200 <= status < 300:
        return Attempt(True, False, f"HTTP {status}", status)
    retry = status >= 500 or status in RETRIED_STATUSES
    return Attempt(False, retry, f"{channel.destination} answered HTTP {status}.", status)


def _email(channel: AlertChannel, delivery: AlertDelivery) -> Attempt:
    recipients = channel.recipients
    if not recipients:
        return Attempt(False, False, "The channel has no email addresses; add one.")
    subject = f"[Streamflow] {'Recovered: ' if delivery.recovered else ''}{delivery.subject}"
    try:
        sent = send_mail(subject, delivery.body, settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception as exc:  # SMTP errors, refused connections, timeouts
        return Attempt(False, True, f"SMTP: {type(exc).__name__}: {exc}")
    if not sent:
        return Attempt(False, True, "SMTP: 0")
    return Attempt(True, False, email_outcome(len(recipients)))


# Backends that do not send: what an operator reads instead of "accepted" (console is the default without EMAIL_HOST).
NOT_SENT_BY = {
    "django.core.mail.backends.console.EmailBackend": "printed to the worker's console, not sent (EMAIL_BACKEND is "
    "the console; set EMAIL_HOST to send mail)",
    "django.core.mail.backends.filebased.EmailBackend": "written to a file in EMAIL_FILE_PATH, not sent "
    "(EMAIL_BACKEND is the file backend)",
    "django.core.mail.backends.locmem.EmailBackend": "kept in memory, not sent (EMAIL_BACKEND is locmem, for tests)",
    "django.core.mail.backends.dummy.EmailBackend": "discarded, not sent (EMAIL_BACKEND is the dummy backend)",
}


def email_outcome(count: int) -> str:
    """Where an email alert really went, for the delivery's result."""
    recipients = f"{count} recipient{'' if count == 1 else 's'}"
    where = NOT_SENT_BY.get(settings.EMAIL_BACKEND)
    if where:
        return f"Email for {recipients} {where}."
    return f"SMTP: accepted for {recipients}"


def attempt_delivery(delivery_pk: int, *, final: bool) -> Attempt | None:
    """One attempt at sending a delivery; records its outcome. `final`: no retry follows, so a failure is the
    delivery's and counts against its channel. None when there is nothing (left) to send."""
    delivery = AlertDelivery.objects.select_related("channel", "configuration").filter(pk=delivery_pk).first()
    if delivery is None or delivery.status in (AlertDelivery.Status.SENT, AlertDelivery.Status.FAILED):
        return None
    channel = delivery.channel
    attempt = _email(channel, delivery) if channel.kind == AlertChannel.Kind.EMAIL else _post(channel, delivery)
    now = timezone.now()
    done = attempt.ok or final or not attempt.retry
    status = (
        AlertDelivery.Status.SENT
        if attempt.ok
        else AlertDelivery.Status.FAILED
        if done
        else AlertDelivery.Status.RETRYING
    )
    AlertDelivery.objects.filter(pk=delivery.pk).update(
        attempts=F("attempts") + 1,
        status=status,
        http_status=attempt.http_status,
        result=attempt.result[:2000],
        finished_at=now if done else None,
    )
    if attempt.ok:
        AlertChannel.objects.filter(pk=channel.pk).update(
            consecutive_failures=0, failing_since=None, last_success_at=now
        )
    elif done:
        AlertChannel.objects.filter(pk=channel.pk).update(consecutive_failures=F("consecutive_failures") + 1)
        AlertChannel.objects.filter(
            pk=channel.pk, failing_since__isnull=True, consecutive_failures__gte=AlertChannel.FAILING_AFTER
        ).update(failing_since=now)
        logger.warning("alert delivery %s to channel %s failed: %s", delivery.pk, channel.name, attempt.result)
    return attempt

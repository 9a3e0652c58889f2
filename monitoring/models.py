from __future__ import annotations

from django.db import models

from acquisition.models import PullRun
from pulls.models import PullConfiguration
from stations.models import MonitoringLocation


class AlertState(models.Model):
    """One row per alert condition ("run of config 12 failing", "USGS-01646500 daily is stale").

    An email goes out only when a condition turns active; it stays quiet while active and re-arms once the
    condition clears. This row is what keeps a flapping or long outage from becoming an alert storm.
    """

    class Kind(models.TextChoices):
        RUN_FAILED = "run_failed", "Run failed or partial"
        CONSECUTIVE_FAILURES = "consecutive", "Configuration failing repeatedly"
        STALE_STATION = "stale", "Station stale (silent gage)"
        NEW_GAP = "new_gap", "New gap in recent data"
        FLAT_LINE = "flat_line", "Flat line in recent data"
        DROUGHT_WATCH = "drought", "Drought watch (below the 10th percentile)"
        HIGH_FLOW = "high_flow", "High flow (above the 90th percentile)"

    key = models.CharField(
        max_length=200, unique=True, help_text='e.g. "run:12", "streak:12", "stale:34:daily", "new_gap:56" (a series)'
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    active = models.BooleanField(default=False)
    subject = models.CharField(max_length=255, blank=True)
    configuration = models.ForeignKey(
        PullConfiguration, null=True, blank=True, on_delete=models.SET_NULL, related_name="alert_states"
    )
    location = models.ForeignKey(
        MonitoringLocation, null=True, blank=True, on_delete=models.CASCADE, related_name="alert_states"
    )
    run = models.ForeignKey(PullRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    opened_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Stale check: "active stale alerts" to clear the ones whose station recovered.
            models.Index(fields=["kind", "active"], name="alert_kind_active"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({'active' if self.active else 'clear'})"


# --- Alert channels, rules and deliveries (monitoring/channels.py) ---------------------------------------------


class AlertCondition(models.TextChoices):
    RUN_FAILED = "run_failed", "Run failed"
    RUN_PARTIAL = "run_partial", "Run partial (some stations failed)"
    CONSECUTIVE_FAILURES = "consecutive_failures", "Failures in a row"
    STATION_STALE = "station_stale", "Station stale"
    NEW_GAP = "new_gap", "New gap in recent data"
    FLAT_LINE = "flat_line", "Flat line in recent data"
    DROUGHT_WATCH = "drought", "Drought watch (below the 10th percentile)"
    HIGH_FLOW = "high_flow", "High flow (above the 90th percentile)"
    TEST = "test", "Test alert"


RULE_CONDITIONS = [c for c in AlertCondition if c != AlertCondition.TEST]


class AlertChannel(models.Model):
    """Where alerts go: email addresses, a signed generic webhook, or a Slack / Teams incoming webhook."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook (JSON, signed)"
        SLACK = "slack", "Slack incoming webhook"
        TEAMS = "teams", "Microsoft Teams incoming webhook"

    FAILING_AFTER = 3  # deliveries failed in a row (after their retries) that mark a channel as failing

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    emails = models.TextField(blank=True, help_text="Email channels: addresses, one per line or comma-separated.")
    url = models.URLField(max_length=2000, blank=True, help_text="Webhook channels: the address to POST to.")
    # HMAC-SHA256 key of a generic webhook's signature header; shown once, when the channel is created.
    secret = models.CharField(max_length=64, blank=True)
    enabled = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def is_failing(self) -> bool:
        return self.consecutive_failures >= self.FAILING_AFTER

    @property
    def recipients(self) -> list[str]:
        return [a.strip() for a in self.emails.replace("\n", ",").split(",") if a.strip()]

    @property
    def destination(self) -> str:
        """What the channel sends to, without a webhook's path (Slack and Teams URLs are themselves secrets)."""
        if self.kind == self.Kind.EMAIL:
            return ", ".join(self.recipients)
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}/…"


class AlertRule(models.Model):
    """Which conditions of which configurations (none chosen: all of them) go to a channel."""

    channel = models.ForeignKey(AlertChannel, on_delete=models.CASCADE, related_name="rules")
    conditions = models.JSONField(default=list, help_text="AlertCondition values.")
    configurations = models.ManyToManyField(PullConfiguration, blank=True, related_name="alert_rules")
    min_failures = models.PositiveIntegerField(
        default=3, help_text="“Failures in a row”: only once a configuration has failed at least this many times."
    )
    send_recovery = models.BooleanField(default=True, help_text="Also send a notice when the condition clears.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["channel", "pk"]

    def __str__(self) -> str:
        return f"{self.channel.name}: {', '.join(self.conditions)}"

    @property
    def condition_labels(self) -> list[str]:
        return [AlertCondition(c).label for c in self.conditions if c in AlertCondition.values]


class AlertDelivery(models.Model):
    """One alert sent (or being sent) to one channel: what, when, and what the other side answered."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RETRYING = "retrying", "Retrying"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    channel = models.ForeignKey(AlertChannel, on_delete=models.CASCADE, related_name="deliveries")
    condition = models.CharField(max_length=24, choices=AlertCondition.choices)
    recovered = models.BooleanField(default=False)
    subject = models.CharField(max_length=255)
    body = models.TextField(blank=True)
    configuration = models.ForeignKey(
        PullConfiguration, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    result = models.TextField(blank=True, help_text="The SMTP result or the error, in a sentence.")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "alert deliveries"
        indexes = [
            # Deliveries page, newest first; a channel's page: its recent deliveries.
            models.Index(fields=["-created_at"], name="delivery_created"),
            models.Index(fields=["channel", "-created_at"], name="delivery_channel_created"),
        ]

    def __str__(self) -> str:
        return f"{self.channel.name}: {self.subject} ({self.status})"

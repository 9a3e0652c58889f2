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

    key = models.CharField(max_length=200, unique=True, help_text='e.g. "run:12", "streak:12", "stale:34:daily"')
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

"""Observation storage, keyed on (time series, time). Writes go through acquisition/storage.py only."""

from __future__ import annotations

from django.db import models

from stations.models import TimeSeries


class ApprovalStatus(models.TextChoices):
    PROVISIONAL = "Provisional", "Provisional"
    APPROVED = "Approved", "Approved"


class DailyValue(models.Model):
    """A daily mean value. `date` is the calendar day in the site's local time, as USGS gives it."""

    id = models.BigAutoField(primary_key=True)
    # No index of its own: the (series, date) unique index serves every lookup by series, and one index fewer is
    # one less to maintain on each of the millions of rows written.
    series = models.ForeignKey(TimeSeries, on_delete=models.CASCADE, related_name="daily_values", db_index=False)
    date = models.DateField()
    value = models.FloatField(null=True, blank=True, help_text="ft³/s; empty where USGS reports it missing.")
    qualifiers = models.JSONField(default=list, blank=True)
    approval_status = models.CharField(max_length=12, choices=ApprovalStatus.choices, null=True, blank=True)
    last_modified = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # The natural key; its index also serves charts and exports ("series S between d1 and d2").
            models.UniqueConstraint(fields=["series", "date"], name="daily_series_date"),
        ]

    def __str__(self) -> str:
        return f"{self.series_id} {self.date}: {self.value}"


class ContinuousValue(models.Model):
    """An instantaneous (5/15-minute) value at a UTC instant."""

    id = models.BigAutoField(primary_key=True)
    series = models.ForeignKey(  # no index of its own: the (series, time) unique index serves (see DailyValue)
        TimeSeries, on_delete=models.CASCADE, related_name="continuous_values", db_index=False
    )
    time = models.DateTimeField()
    value = models.FloatField(null=True, blank=True)
    qualifiers = models.JSONField(default=list, blank=True)
    approval_status = models.CharField(max_length=12, choices=ApprovalStatus.choices, null=True, blank=True)
    last_modified = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # The natural key; its index also serves charts and exports ("series S between t1 and t2").
            models.UniqueConstraint(fields=["series", "time"], name="continuous_series_time"),
        ]

    def __str__(self) -> str:
        return f"{self.series_id} {self.time:%Y-%m-%dT%H:%MZ}: {self.value}"


class RateLimitBucket(models.Model):
    """A token bucket shared by every worker, so the USGS quota is spent once, not once per process.

    A row per bucket name; `acquisition.client.DatabaseTokenBucket` refills and takes tokens under a row lock.
    """

    name = models.CharField(max_length=60, unique=True)
    tokens = models.FloatField(default=0.0)
    updated_at = models.DateTimeField()
    # The gateway's own count, from the X-RateLimit-* headers of the last answer that had them (keyed requests
    # only): what the dashboard shows as "quota left".
    quota_limit = models.PositiveIntegerField(null=True, blank=True)
    quota_remaining = models.PositiveIntegerField(null=True, blank=True)
    quota_seen_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name}: {self.tokens:.1f} tokens"

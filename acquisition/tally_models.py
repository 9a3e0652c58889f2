"""Quality tallies: per series and month, what the quality pages read instead of recomputing years of values
(written by acquisition/tallies.py inside the commit that changed the values; read by monitoring.quality)."""

from __future__ import annotations

from django.db import models

from stations.models import TimeSeries


class QualityMonth(models.Model):
    """One calendar month of a series, in the station's own days: its counts, its missing slots (those between
    two present values only: nothing before the first value or after the newest is missing) and, per day, the
    present and missing counts (the roll-up's last 30 days).

    Times are numbers, as in the quality SQL: days since 1970-01-01 (daily), seconds since the epoch (continuous)."""

    series = models.ForeignKey(TimeSeries, on_delete=models.CASCADE, related_name="quality_months", db_index=False)
    month = models.DateField(help_text="The month's first day (the station's calendar).")
    stored = models.IntegerField(default=0)
    present = models.IntegerField(default=0)
    missing = models.IntegerField(default=0)
    approved = models.IntegerField(default=0)
    provisional = models.IntegerField(default=0)
    first_t = models.FloatField(null=True, blank=True)  # the month's first and last present value
    last_t = models.FloatField(null=True, blank=True)
    last_value = models.FloatField(null=True, blank=True)
    days = models.JSONField(default=list)  # [[present, missing], …] for day 1, 2, … of the month
    qualifiers = models.JSONField(default=dict)  # {qualifier: present values carrying it}
    intervals = models.JSONField(default=list)  # continuous: the intervals (minutes) its events were judged by

    class Meta:
        constraints = [
            # Its index serves every read: "months of series S (between m1 and m2)", "newest month of S".
            models.UniqueConstraint(fields=["series", "month"], name="qualitymonth_series_month"),
        ]

    def __str__(self) -> str:
        return f"series {self.series_id} {self.month:%Y-%m}: {self.present} present, {self.missing} missing"


class QualityEvent(models.Model):
    """A gap longer than the tolerance or a screening flag of a series, kept with the month it starts in."""

    class Kind(models.TextChoices):
        GAP = "gap"
        NEGATIVE = "negative"
        ZERO = "zero"
        FLAT = "flat"
        SPIKE = "spike"

    series = models.ForeignKey(TimeSeries, on_delete=models.CASCADE, related_name="quality_events", db_index=False)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    start_t = models.FloatField()  # a gap: its first and last missing time; a flag: its first and last value
    end_t = models.FloatField()
    count = models.IntegerField()  # a gap: missing slots; a flag: values
    value = models.FloatField(null=True, blank=True)
    interval = models.FloatField()  # days (daily) or seconds (continuous)

    class Meta:
        indexes = [
            # "Events of series S starting between t1 and t2" (pages, the roll-up's last 365 days, a refresh).
            models.Index(fields=["series", "start_t"], name="qualityevent_series_start"),
        ]

    def __str__(self) -> str:
        return f"series {self.series_id} {self.kind} {self.start_t}–{self.end_t}"


class QualityBacklog(models.Model):
    """A range of a series whose tallies a set commit changed and that is still to be refreshed
    (acquisition.tallies.refresh_backlog: a task sent after each batch, and the janitor every minute). A batch of
    thousands of stations commits in a few statements; refreshing its tallies series by series would not, so the
    commit only records what changed, in its own transaction.

    `low`/`high` are instants; a daily range is stored as [midnight UTC of its first day, the last microsecond of
    its last day, UTC], which the refresh reads in the station's days (at worst a day wider)."""

    series = models.ForeignKey(TimeSeries, on_delete=models.CASCADE, related_name="+", db_index=False)
    low = models.DateTimeField()
    high = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # The refresh takes the oldest entries first and every entry of their series.
            models.Index(fields=["series", "created_at"], name="qualitybacklog_series"),
        ]

    def __str__(self) -> str:
        return f"series {self.series_id}: {self.low:%Y-%m-%d} – {self.high:%Y-%m-%d}"

"""Day-of-year normals of the mirrored daily series (USGS Statistics API, issue 24) and USGS's revision notes
(``time-series-revisions``): written by acquisition/normals.py, read by monitoring (classes, bands, notes)."""

from __future__ import annotations

from django.db import models

from stations.models import MonitoringLocation, TimeSeries

PERCENTILE_FIELDS = ("p05", "p10", "p25", "p50", "p75", "p90", "p95")


class SeriesNormal(models.Model):
    """One calendar day (month, day; 02-29 included) of a daily series: the percentiles USGS computed over the
    approved years of that date (None where USGS said "nan": too short a record), its minimum and maximum, and how
    many years (``sample_count``) stand behind them."""

    series = models.ForeignKey(TimeSeries, on_delete=models.CASCADE, related_name="normals", db_index=False)
    month = models.PositiveSmallIntegerField()
    day = models.PositiveSmallIntegerField()
    p05 = models.FloatField(null=True, blank=True)
    p10 = models.FloatField(null=True, blank=True)
    p25 = models.FloatField(null=True, blank=True)
    p50 = models.FloatField(null=True, blank=True)
    p75 = models.FloatField(null=True, blank=True)
    p90 = models.FloatField(null=True, blank=True)
    p95 = models.FloatField(null=True, blank=True)
    minimum = models.FloatField(null=True, blank=True)
    maximum = models.FloatField(null=True, blank=True)
    sample_count = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            # Its index serves every read: "normals of series S (for these days)".
            models.UniqueConstraint(fields=["series", "month", "day"], name="seriesnormal_series_day"),
        ]

    def __str__(self) -> str:
        return f"series {self.series_id} {self.month:02d}-{self.day:02d}: p50 {self.p50} (n={self.sample_count})"

    @property
    def time_of_year(self) -> str:
        return f"{self.month:02d}-{self.day:02d}"

    def percentile_points(self) -> list[tuple[float, float]]:
        """(percentile, value) of what USGS gave, minimum as 0 and maximum as 100, in percentile order."""
        points = [(0.0, self.minimum)]
        points += [(float(name[1:]), getattr(self, name)) for name in PERCENTILE_FIELDS]
        points.append((100.0, self.maximum))
        return [(p, v) for p, v in points if v is not None]


class NormalsFetch(models.Model):
    """When a series' normals were last asked for, and what came back (so "USGS has none" is known, not guessed)."""

    series = models.OneToOneField(TimeSeries, on_delete=models.CASCADE, related_name="normals_fetch")
    fetched_at = models.DateTimeField()
    days = models.PositiveIntegerField(default=0, help_text="Days of the year USGS gave statistics for.")
    message = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"series {self.series_id}: {self.days} days at {self.fetched_at:%Y-%m-%d %H:%M}"


class RevisionNote(models.Model):
    """USGS's note about a revised period of one series (time-series-revisions), as fetched last."""

    location = models.ForeignKey(MonitoringLocation, on_delete=models.CASCADE, related_name="revision_notes")
    time_series_id = models.CharField(max_length=64, help_text="USGS's id: the series need not be mirrored.")
    series = models.ForeignKey(TimeSeries, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.TextField()
    begin = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)
    fetched_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["location", "time_series_id"], name="revisionnote_loc_series")]

    def __str__(self) -> str:
        return f"{self.time_series_id} {self.begin} – {self.end}: {self.note[:60]}"

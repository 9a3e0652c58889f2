from __future__ import annotations

import datetime as dt

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.dispatch import Signal
from django.urls import reverse

from stations import parameters
from stations.models import MonitoringLocation, TimeSeries
from streamflow.bounded_text import BoundedTextField

SCHEDULE_PRESETS = {
    "hourly": "0 * * * *",
    "every_6_hours": "0 */6 * * *",
    "daily": "0 0 * * *",
    "weekly": "0 0 * * 0",
}

# Sent, with `configuration`, for each configuration a bulk `update()` changed the schedule of: a bulk update sends
# no post_save, and the schedule sync (pulls.schedules, above this module) listens to this instead (pulls.signals).
schedule_changed = Signal()


class PullConfigurationQuerySet(models.QuerySet):
    def enabled(self) -> PullConfigurationQuerySet:
        return self.filter(enabled=True)

    def with_station_count(self) -> PullConfigurationQuerySet:
        return self.annotate(station_count=models.Count("memberships", distinct=True))

    def with_last_run(self) -> PullConfigurationQuerySet:
        """Annotate the newest run's status and creation time (the list page's "last run" column)."""
        # Looked up lazily: monitoring.models imports this module.
        runs = apps.get_model("acquisition", "PullRun").objects.filter(configuration=models.OuterRef("pk"))
        newest = runs.order_by("-created_at", "-pk")
        return self.annotate(
            last_run_id=models.Subquery(newest.values("pk")[:1]),
            last_run_status=models.Subquery(newest.values("status")[:1]),
            last_run_at=models.Subquery(newest.values("created_at")[:1]),
        )

    def update(self, **kwargs) -> int:
        """A bulk update must not bypass the schedule sync (DESIGN §5): re-sync what changed."""
        ids = list(self.values_list("pk", flat=True))
        count = super().update(**kwargs)
        if ids and {"enabled", "schedule_type", "cron_expression", "timezone"} & kwargs.keys():
            for config in PullConfiguration.objects.filter(pk__in=ids):
                schedule_changed.send(sender=PullConfiguration, configuration=config)
        return count


def default_parameters() -> list[str]:
    return [parameters.DISCHARGE]


class PullConfiguration(models.Model):
    class DataType(models.TextChoices):
        # The value keeps its historical name: "daily" pulls each parameter's daily statistics (stations.parameters).
        DAILY_MEAN = "daily_mean", "Daily values"
        CONTINUOUS = "continuous", "Continuous (15/5-minute) values"

    class Strategy(models.TextChoices):
        APPEND = "append", "Append incrementally (Smart Append)"
        OVERWRITE = "overwrite", "Overwrite the whole range each run"

    class ScheduleType(models.TextChoices):
        HOURLY = "hourly", "Hourly"
        EVERY_6_HOURS = "every_6_hours", "Every 6 hours"
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"
        CUSTOM = "custom", "Custom cron expression"

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True, max_length=2000)  # a form rule: the forms and the admin refuse more
    data_type = models.CharField(max_length=12, choices=DataType.choices, default=DataType.DAILY_MEAN)
    # USGS parameter codes, in the order chosen (stations.parameters.PARAMETERS); discharge by default.
    parameters = models.JSONField(default=default_parameters)
    strategy = models.CharField(max_length=10, choices=Strategy.choices, default=Strategy.APPEND)
    start_date = models.DateField(help_text="The first day to pull when a station has no data yet.")
    schedule_type = models.CharField(max_length=16, choices=ScheduleType.choices, default=ScheduleType.DAILY)
    cron_expression = models.CharField(
        max_length=120, default=SCHEDULE_PRESETS["daily"], help_text="Always the effective five-field expression."
    )
    timezone = models.CharField(max_length=64, default=settings.TIME_ZONE, help_text="IANA name, e.g. America/New_York")
    enabled = models.BooleanField(default=True)
    stations = models.ManyToManyField(
        MonitoringLocation, through="PullConfigurationStation", related_name="pull_configurations"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    auto_disabled_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PullConfigurationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            # Names are told apart by people, so "Potomac daily" and "potomac daily" may not both exist.
            models.UniqueConstraint(
                Lower("name"),
                name="uniq_config_name_ci",
                violation_error_message="A configuration with this name already exists; choose another name.",
            ),
        ]
        permissions = [("run_pullconfiguration", "Can run a pull configuration now")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("pulls:detail", args=[self.pk])

    @property
    def periodic_task_name(self) -> str:
        return f"pull-config-{self.pk}"

    @property
    def series_kind(self) -> str:
        return TimeSeries.Kind.DAILY if self.data_type == self.DataType.DAILY_MEAN else TimeSeries.Kind.CONTINUOUS

    @property
    def is_daily(self) -> bool:
        return self.data_type == self.DataType.DAILY_MEAN

    @property
    def parameter_codes(self) -> list[str]:
        """The parameters pulled (discharge where the list is empty, as every configuration before them)."""
        return list(self.parameters or default_parameters())

    def selections(self) -> list[tuple[str, str]]:
        """(parameter code, statistic) per series each station pulls; "" is the parameter's usual statistic."""
        return parameters.selections(self.parameter_codes, daily=self.is_daily)

    @property
    def parameter_names(self) -> str:
        return ", ".join(parameters.parameter_name(code) for code in self.parameter_codes)

    def add_stations(self, location_ids: list[int]) -> None:
        """Add stations in the given order (stations.add() takes a set) with their progress rows."""
        current = set(self.memberships.values_list("location_id", flat=True))
        new = [pk for pk in dict.fromkeys(location_ids) if pk not in current]
        # bulk_create sends no signals, so the progress rows are created here too.
        PullConfigurationStation.objects.bulk_create(
            [PullConfigurationStation(configuration=self, location_id=pk) for pk in new]
        )
        StationProgress.objects.bulk_create(
            [
                StationProgress(configuration=self, location_id=pk, parameter_code=code, statistic_id=stat)
                for pk in new
                for code, stat in self.selections()
            ],
            ignore_conflicts=True,
        )

    def save(self, *args, **kwargs):
        if self.schedule_type in SCHEDULE_PRESETS:
            self.cron_expression = SCHEDULE_PRESETS[self.schedule_type]
        super().save(*args, **kwargs)


class PullConfigurationStation(models.Model):
    configuration = models.ForeignKey(PullConfiguration, on_delete=models.CASCADE, related_name="memberships")
    location = models.ForeignKey(MonitoringLocation, on_delete=models.PROTECT, related_name="memberships")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "pk"]  # as added
        constraints = [
            models.UniqueConstraint(fields=["configuration", "location"], name="uniq_config_station"),
        ]

    def __str__(self) -> str:
        return f"{self.configuration} / {self.location.monitoring_location_id}"


class StationProgress(models.Model):
    """Smart Append's memory: one row per (configuration, station, series pulled): the series is named by its
    parameter and statistic ("" the parameter's usual one, stations.parameters), so a parameter added later loads
    from the start date, whatever the station's other parameters have committed.

    `newest_date` (daily) / `newest_time` (continuous, UTC) is the newest committed observation; the next
    append run asks from there (inclusive). It moves only in the same transaction as the values it covers.
    """

    configuration = models.ForeignKey(PullConfiguration, on_delete=models.CASCADE, related_name="progress")
    location = models.ForeignKey(MonitoringLocation, on_delete=models.CASCADE, related_name="progress")
    parameter_code = models.CharField(max_length=5, default=parameters.DISCHARGE)
    statistic_id = models.CharField(max_length=5, blank=True, default="", help_text="Empty: the usual one.")
    time_series = models.ForeignKey(TimeSeries, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    newest_date = models.DateField(null=True, blank=True)
    newest_time = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = BoundedTextField(blank=True, max_length=4000)  # written by acquisition from what upstream said
    consecutive_failures = models.PositiveIntegerField(default=0)
    # When USGS said (time-series-metadata) the station has no series of the configuration's data type: later runs
    # skip it without asking again (reported once, never retried as a failure) until the catalog learns of one.
    no_series_at = models.DateTimeField(null=True, blank=True)
    # The start date the committed values cover from: a start date moved earlier than this makes the next append
    # load from the new start date (acquisition.planning), so no hole opens before the old one.
    covered_from = models.DateField(null=True, blank=True)
    # USGS's clock when the last successful pull began (its Date header; the worker's if that was earlier): the
    # next revision pass asks for values modified since then. The deep one: when the whole range was last checked
    # (continuous series check their older years on a slower cadence, acquisition.planning).
    revisions_checked_at = models.DateTimeField(null=True, blank=True)
    deep_revisions_checked_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "station progress"
        constraints = [
            # Also serves "this configuration's progress of these stations" (planning, the station table).
            models.UniqueConstraint(
                fields=["configuration", "location", "parameter_code", "statistic_id"], name="uniq_progress_series"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.configuration} / {self.location.monitoring_location_id} {self.label}: "
            f"{self.newest or 'no data yet'}"
        )

    @property
    def label(self) -> str:
        return parameters.selection_label(
            self.parameter_code, self.statistic_id, daily=self.configuration.data_type == "daily_mean"
        )

    @property
    def newest(self) -> dt.date | dt.datetime | None:
        return (
            self.newest_date
            if self.configuration.data_type == PullConfiguration.DataType.DAILY_MEAN
            else self.newest_time
        )

"""What the engine writes: observations, keyed on (time series, time) — writes through acquisition/storage.py only —
the shared request budget, and the runs (a run, its batches, its stations, its log) with the workers' heartbeats.
Monitoring reads the runs; it never writes them. The batch stage (staged_models) and the quality tallies
(tally_models) live in modules of their own, imported here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import models
from django.db.models import Q
from django.urls import reverse

from acquisition.list_field import ListField
from acquisition.staged_models import StagedContinuousValue, StagedDailyValue, StagedValue  # noqa: F401 - the stage
from pulls.models import PullConfiguration
from stations import parameters
from stations.models import MonitoringLocation, TimeSeries


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
    """An instantaneous (5/15-minute) value at a UTC instant.

    Keyed on (series, time) itself, no surrogate id: on PostgreSQL the table is partitioned by month of `time`
    (migration 0015, acquisition/partitions.py), and a partitioned table's unique keys must hold the partition key;
    the natural key fits, and a row is 8 bytes and one index lighter. Django's admin cannot list a model with a
    composite key, so these values are read on the station and data pages, not in the admin."""

    pk = models.CompositePrimaryKey("series", "time")
    series = models.ForeignKey(  # no index of its own: the (series, time) key's index serves (see DailyValue)
        TimeSeries, on_delete=models.CASCADE, related_name="continuous_values", db_index=False
    )
    time = models.DateTimeField()
    value = models.FloatField(null=True, blank=True)
    qualifiers = models.JSONField(default=list, blank=True)
    approval_status = models.CharField(max_length=12, choices=ApprovalStatus.choices, null=True, blank=True)
    last_modified = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.series_id} {self.time:%Y-%m-%dT%H:%MZ}: {self.value}"


class RateLimitBucket(models.Model):
    """A token bucket shared by every worker, so the USGS quota is spent once, not once per process.

    A row per bucket name; `acquisition.throttled_client.DatabaseTokenBucket` refills and takes tokens under a row lock.
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


# --- Runs: written by the engine (acquisition), read by monitoring ------------------------------------------


class PullRunQuerySet(models.QuerySet):
    def active(self) -> PullRunQuerySet:
        return self.filter(status__in=PullRun.ACTIVE_STATUSES)

    def finished(self) -> PullRunQuerySet:
        return self.exclude(status__in=PullRun.ACTIVE_STATUSES)


class PullRun(models.Model):
    """One run of a configuration."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Manual"
        BACKFILL = "backfill", "Backfill"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Partial"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)

    # SET_NULL: deleting a configuration keeps its run history (the name is kept beside it).
    configuration = models.ForeignKey(
        PullConfiguration, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    configuration_name = models.CharField(max_length=120)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.SCHEDULE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    data_type = models.CharField(max_length=12, choices=PullConfiguration.DataType.choices)
    strategy = models.CharField(max_length=10, choices=PullConfiguration.Strategy.choices)
    # The configuration's start date when the run was created: an edit during the run does not move its windows.
    start_date = models.DateField(null=True, blank=True)
    # Backfill range asked for (empty for ordinary runs, whose windows come from each station's progress).
    range_start = models.DateField(null=True, blank=True)
    range_end = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life; the janitor reads it.")
    stations_total = models.PositiveIntegerField(default=0)
    stations_succeeded = models.PositiveIntegerField(default=0)
    stations_failed = models.PositiveIntegerField(default=0)
    requests_made = models.PositiveIntegerField(default=0)
    values_inserted = models.PositiveBigIntegerField(default=0)
    values_updated = models.PositiveBigIntegerField(default=0)
    values_unchanged = models.PositiveBigIntegerField(default=0)
    message = models.TextField(blank=True, help_text="Why it was skipped or failed, in a sentence.")
    triggered_by = models.CharField(max_length=150, blank=True)
    # The run_configuration task that fans this run out: its retry (same id) resumes the fan-out of its own run.
    task_id = models.CharField(max_length=255, blank=True)

    objects = PullRunQuerySet.as_manager()

    class Meta:
        db_table = "monitoring_pullrun"  # created by monitoring, which owned these models until turn 2
        ordering = ["-created_at", "-pk"]
        constraints = [
            # A configuration never runs twice at once: the database refuses a second active run.
            models.UniqueConstraint(
                fields=["configuration"],
                condition=Q(status__in=["queued", "running"]),
                name="one_active_run_per_configuration",
            ),
        ]
        indexes = [
            # Runs list filtered by status, newest first; dashboard "runs in the last 24 h by status".
            models.Index(fields=["status", "-created_at"], name="run_status_created"),
            # Configuration page: its recent runs and statistics.
            models.Index(fields=["configuration", "-created_at"], name="run_config_created"),
            # Runs list unfiltered / by date range, newest first.
            models.Index(fields=["-created_at"], name="run_created"),
        ]

    def __str__(self) -> str:
        return f"Run #{self.pk} of {self.configuration_name} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("monitoring:run_detail", args=[self.pk])

    @property
    def current_configuration_name(self) -> str:
        """The configuration's name now, so a rename shows on its past runs too (pages, API); the name it had at
        the run once it is deleted. Lists select_related("configuration") to read it without a query per run."""
        return self.configuration.name if self.configuration is not None else self.configuration_name

    @property
    def renamed_from(self) -> str:
        """The name the configuration had when this run was created, if it has been renamed since; else ""."""
        if self.configuration is not None and self.configuration.name != self.configuration_name:
            return self.configuration_name
        return ""

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class PullRunBatch(models.Model):
    """Stations of one run that share their USGS requests (DESIGN.md §4.5): the unit of work, retry and resumption.

    Its members are the run's station rows pointing at it. It counts the requests it made once (not once per
    member); the run's request total is the sum over its batches.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"

    run = models.ForeignKey(PullRun, on_delete=models.CASCADE, related_name="batches")
    number = models.PositiveIntegerField(help_text="1, 2, … within the run.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    stations = models.PositiveIntegerField(default=0)
    # What the planner expects the batch to receive (values), for the progress bars; an estimate.
    values_expected = models.PositiveBigIntegerField(default=0)
    values_received = models.PositiveBigIntegerField(default=0)
    windows_total = models.PositiveIntegerField(default=0)
    windows_done = models.PositiveIntegerField(default=0)
    pages_fetched = models.PositiveIntegerField(default=0)
    requests_made = models.PositiveIntegerField(default=0, help_text="Over every attempt: each request once.")
    phase = models.CharField(max_length=200, blank=True, help_text="What it is fetching now.")
    attempts = models.PositiveIntegerField(default=0)
    resumes = models.PositiveIntegerField(
        default=0, help_text="Times an attempt was lost (its worker died or went silent) and the janitor resumed it."
    )
    sends = models.PositiveIntegerField(
        default=0, help_text="Times the janitor sent its task again while it waited in the queue (never a failure)."
    )
    worker = models.CharField(max_length=255, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "monitoring_pullrunbatch"  # created by monitoring, which owned these models until turn 2
        ordering = ["run", "number"]
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="uniq_run_batch")]

    def __str__(self) -> str:
        return f"run {self.run_id} batch {self.number} ({self.status})"

    @property
    def progress_percent(self) -> int:
        """Windows done, plus the share of the current window's expected values already received."""
        if self.status == self.Status.FINISHED:
            return 100
        if not self.windows_total:
            return 0
        per_window = max(1, self.values_expected // self.windows_total)
        received_here = self.values_received - self.windows_done * per_window
        partial = min(0.9, max(0.0, received_here / per_window))
        return min(99, int(100 * (self.windows_done + partial) / self.windows_total))


class PullRunStation(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    run = models.ForeignKey(PullRun, on_delete=models.CASCADE, related_name="stations")
    location = models.ForeignKey(MonitoringLocation, on_delete=models.CASCADE, related_name="run_stations")
    batch = models.ForeignKey(PullRunBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    # Which of the station's series this member pulls (pulls.StationProgress: "" is the parameter's usual statistic).
    parameter_code = models.CharField(max_length=5, default="00060")
    statistic_id = models.CharField(max_length=5, blank=True, default="")
    time_series = models.ForeignKey(TimeSeries, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    windows_total = models.PositiveIntegerField(default=0)
    windows_done = models.PositiveIntegerField(default=0)
    pages_fetched = models.PositiveIntegerField(default=0)
    requests_made = models.PositiveIntegerField(default=0)
    values_received = models.PositiveBigIntegerField(default=0)
    values_inserted = models.PositiveBigIntegerField(default=0)
    values_updated = models.PositiveBigIntegerField(default=0)
    values_unchanged = models.PositiveBigIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    # Who works on it and when it last showed life: the janitor resumes a station whose worker stopped beating.
    worker = models.CharField(max_length=255, blank=True, help_text="Celery hostname of the worker running it.")
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life of this station.")
    resumes = models.PositiveIntegerField(default=0, help_text="Times the janitor sent its task again.")
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "monitoring_pullrunstation"  # created by monitoring, which owned these models until turn 2
        ordering = ["run", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "location", "parameter_code", "statistic_id"], name="uniq_run_station_series"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run_id} / {self.location.monitoring_location_id} {self.parameter_code}: {self.status}"

    @property
    def selection(self) -> tuple[str, str]:
        return (self.parameter_code, self.statistic_id)

    @property
    def label(self) -> str:
        """The series it pulls in words ("Gage height", "Water temperature, daily maximum": a statistic other than
        the usual one is a daily one)."""
        return parameters.selection_label(self.parameter_code, self.statistic_id, daily=True)

    @property
    def is_discharge(self) -> bool:
        return self.parameter_code == parameters.DISCHARGE and not self.statistic_id

    @property
    def dom_id(self) -> str:
        """Its row's id on the run page: the station's id alone for discharge (as before parameters), else with the
        series named, so the live poll's out-of-band rows of one station's several series never collide."""
        site = self.location.monitoring_location_id
        return f"station-{site}" if self.is_discharge else f"station-{site}-{self.parameter_code}{self.statistic_id}"

    # Written from its batch on every page (acquisition.runlog.BatchEvents), so a member's bar moves with its
    # batch's pages without a join: 0-99 while it runs.
    progress = models.PositiveSmallIntegerField(default=0)

    @property
    def progress_percent(self) -> int:
        if self.status in (self.Status.SUCCEEDED, self.Status.FAILED, self.Status.SKIPPED):
            return 100
        return min(99, self.progress)


class PullLogEntry(models.Model):
    class Level(models.IntegerChoices):
        DEBUG = 10, "DEBUG"
        INFO = 20, "INFO"
        WARNING = 30, "WARNING"
        ERROR = 40, "ERROR"

    run = models.ForeignKey(PullRun, on_delete=models.CASCADE, related_name="log_entries")
    created_at = models.DateTimeField(auto_now_add=True)
    level = models.PositiveSmallIntegerField(choices=Level.choices, default=Level.INFO)
    location = models.ForeignKey(MonitoringLocation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    message = models.TextField()

    class Meta:
        db_table = "monitoring_pulllogentry"  # created by monitoring, which owned these models until turn 2
        ordering = ["run", "pk"]
        verbose_name_plural = "pull log entries"
        indexes = [
            # The live poll: "lines of run R after id N" — an index range scan returning only new lines.
            models.Index(fields=["run", "id"], name="log_run_id"),
        ]

    def __str__(self) -> str:
        return f"[{self.get_level_display()}] {self.message[:80]}"


class Heartbeat(models.Model):
    """Last sign of life of beat ("beat") and of each worker ("worker:<hostname>"), for /health/."""

    name = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()

    class Meta:
        db_table = "monitoring_heartbeat"  # created by monitoring, which owned these models until turn 2

    def __str__(self) -> str:
        return f"{self.name} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"


# --- Revision history: written by acquisition/storage.py in the upsert itself ----------------------------------


class RevisionSetQuerySet(models.QuerySet):
    def with_change(self, kind: str) -> RevisionSetQuerySet:
        """The sets holding at least one change of `kind` (a RevisionSet.Change value)."""
        letter = next(letter for letter, change in RevisionSet.LETTERS.items() if change == kind)
        return self.filter(changes__contains=letter)

    def revisions(self, kind: str | None = None) -> Iterator[ValueRevision]:
        """The sets' values one by one, set after set in the queryset's order (newest first by default), each
        set's newest time first; `kind` (a Change value) keeps only that change."""
        sets = self if kind is None else self.with_change(kind)
        for revision_set in sets.iterator(chunk_size=100):
            for revision in revision_set.entries():
                if kind is None or revision.change == kind:
                    yield revision


class RevisionSet(models.Model):
    """What one store of one series changed (for a continuous series, in one calendar month, UTC): every value it
    revised or removed, as parallel lists, one entry a value.

    Written by `acquisition.storage` in the statement (PostgreSQL) or transaction (SQLite) of the upsert, only for
    values that were stored before: a first insert is not a revision. One row a store (and month), not one a
    value: a rerun that revises half of 90 years of daily values writes one row, not 16,000. (A row per value cost
    about 2.5 µs each, +14 to +34 % on the upsert it recorded; issue 14 allows 10 %. `bench/ingest.py` measures
    this layout.) A set stays small enough to read whole: a daily record is at most ~55,000 days, a month of
    5-minute values 8,928.

    Entry i is `dates[i]` (the site's local calendar day, daily series) or `times[i]` (a UTC instant, continuous),
    `changes[i]` (one letter, see `Change`: the first of value → approval → qualifiers that differs; `r` when an
    overwrite deleted a value USGS no longer returns, with empty new columns), and the old and new value, approval
    and qualifiers. The lists are in no particular order; `entries()` reads them as `ValueRevision`s, newest time
    first. `revised` and `approved` are counted by the upsert, for the run page's "n values revised, m approved".
    """

    class Change(models.TextChoices):
        VALUE = "value", "Value"
        APPROVAL = "approval", "Approval"
        QUALIFIERS = "qualifiers", "Qualifiers"
        REMOVED = "removed", "Removed"

    # The letter each change is stored as in `changes`: the SQL writing them is in acquisition/storage.py.
    LETTERS = {"v": Change.VALUE, "a": Change.APPROVAL, "q": Change.QUALIFIERS, "r": Change.REMOVED}

    id = models.BigAutoField(primary_key=True)
    # No index of its own: (series, id) below serves every lookup by series. No database constraint either (here
    # and on run), as the observation rows it describes may be deleted through the ORM, which cascades.
    series = models.ForeignKey(
        TimeSeries, on_delete=models.CASCADE, related_name="revision_sets", db_index=False, db_constraint=False
    )
    # SET_NULL: the history outlives the run rows the janitor may prune.
    run = models.ForeignKey(
        PullRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="revision_sets", db_constraint=False
    )
    changed_at = models.DateTimeField()
    changes = models.TextField()  # one letter a value (LETTERS)
    revised = models.PositiveIntegerField()  # entries whose value changed
    approved = models.PositiveIntegerField()  # entries that became Approved (a value may be revised and approved)
    dates = ListField(models.DateField(), null=True, blank=True)
    times = ListField(models.DateTimeField(), null=True, blank=True)
    old_values = ListField(models.FloatField(null=True))
    new_values = ListField(models.FloatField(null=True))
    old_approvals = ListField(models.CharField(max_length=12, null=True))
    new_approvals = ListField(models.CharField(max_length=12, null=True))
    old_qualifiers = ListField(models.JSONField(null=True))
    new_qualifiers = ListField(models.JSONField(null=True))

    objects = RevisionSetQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(dates__isnull=False, times__isnull=True) | Q(dates__isnull=True, times__isnull=False),
                name="revisionset_dates_xor_times",
            ),
        ]
        indexes = [
            # "Recent revisions of these series (a configuration's stations), newest first": ids grow with time,
            # and a backward scan reads newest first.
            models.Index(fields=["series", "id"], name="revisionset_series_id"),
        ]

    def __str__(self) -> str:
        return f"series {self.series_id}, run {self.run_id}: {self.size} changes"

    @property
    def size(self) -> int:
        """How many values this store changed or removed."""
        return len(self.changes)

    def entries(self) -> list[ValueRevision]:
        """One `ValueRevision` a value, newest time first."""
        whens = self.dates if self.dates is not None else self.times
        rows = zip(
            whens,
            self.changes,
            self.old_values,
            self.new_values,
            self.old_approvals,
            self.new_approvals,
            self.old_qualifiers,
            self.new_qualifiers,
            strict=True,
        )
        letters = self.LETTERS
        out = [ValueRevision(self, when, letters[c], *rest) for when, c, *rest in rows]
        out.sort(key=lambda r: r.when, reverse=True)
        return out


@dataclass(frozen=True, slots=True)
class ValueRevision:
    """One value's change, read out of its `RevisionSet`: the row as it was and as the pull left it."""

    revision_set: RevisionSet
    when: dt.date | dt.datetime  # a daily series' local day, or a continuous series' UTC instant
    change: str  # a RevisionSet.Change value
    old_value: float | None
    new_value: float | None
    old_approval: str | None
    new_approval: str | None
    old_qualifiers: list | None
    new_qualifiers: list | None

    @property
    def series(self) -> TimeSeries:
        return self.revision_set.series

    @property
    def series_id(self) -> int:
        return self.revision_set.series_id

    @property
    def run(self) -> PullRun | None:
        return self.revision_set.run

    @property
    def run_id(self) -> int | None:
        return self.revision_set.run_id

    @property
    def changed_at(self) -> dt.datetime:
        return self.revision_set.changed_at

    @property
    def date(self) -> dt.date | None:
        return None if isinstance(self.when, dt.datetime) else self.when

    @property
    def time(self) -> dt.datetime | None:
        return self.when if isinstance(self.when, dt.datetime) else None

    def get_change_display(self) -> str:
        return RevisionSet.Change(self.change).label


from acquisition.normal_models import NormalsFetch, RevisionNote, SeriesNormal  # noqa: E402, F401 - own module
from acquisition.tally_models import QualityBacklog, QualityEvent, QualityMonth  # noqa: E402, F401 - in their own module

"""The simulation's one door into the engine: every call it makes to acquisition/ and pulls/ goes through here.

Issue 21 rewrites the engine while this simulation is written; the machine (tests/simulation/machine.py) speaks only
to this module, so an interface change is mended in one place. What it relies on:

- configurations: `PullConfiguration` (data_type, strategy, start_date), `PullConfigurationStation` rows (their
  signals keep a `StationProgress` per member), `StationProgress.newest_date` / `newest_time` (Smart Append's
  progress);
- runs: `acquisition.run_bookkeeping.start_run` / `queue_run` / `take_over` / `pending_batches`,
  `acquisition.smart_append.pull_batch(run_id, number, client_factory=...)` with
  `acquisition.throttled_client.build_client`'s keyword `on_event` (a page event per page),
  `acquisition.janitor.janitor(now=...)`, and the tasks it sends (`acquisition.tasks.run_batch.delay`,
  `run_configuration.delay`), which are recorded here, never sent;
- the bookkeeping read back: `PullRun` (status, trigger, start_date, range, totals), `PullRunStation` (status,
  attempts, values received / inserted / updated / unchanged), observations in `DailyValue` / `ContinuousValue`
  keyed on the series' `time_series_id` (the fake's series id).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, Sum

from acquisition import janitor as janitor_module
from acquisition import run_bookkeeping, smart_append, tasks
from acquisition.models import (
    ContinuousValue,
    DailyValue,
    PullLogEntry,
    PullRun,
    PullRunBatch,
    PullRunStation,
    RateLimitBucket,
)
from acquisition.throttled_client import build_client
from pulls.models import PullConfiguration, PullConfigurationStation, StationProgress
from stations.models import MonitoringLocation, TimeSeries
from tests.fakeusgs import FakeStation

DAILY, CONTINUOUS = "daily", "continuous"
DATA_TYPE = {DAILY: PullConfiguration.DataType.DAILY_MEAN, CONTINUOUS: PullConfiguration.DataType.CONTINUOUS}
FINISHED = ("succeeded", "failed", "skipped")


class WorkerLost(BaseException):  # noqa: N818 - named for what it stands for, as SystemExit is
    """The worker process died mid-batch (OOM kill, a node lost): nothing in the engine may catch it."""


@dataclass
class RunOutcome:
    """What a run did, as its bookkeeping says."""

    run_id: int | None
    status: str
    config_id: int | None = None
    trigger: str = ""
    start_date: dt.date | None = None
    range_start: dt.date | None = None
    range_end: dt.date | None = None
    created_at: dt.datetime | None = None  # the run's plan clock: every window of it ends here (DESIGN §4.8)
    stations: dict[int, str] = field(default_factory=dict)  # location pk -> station status
    errors: dict[int, str] = field(default_factory=dict)  # location pk -> its error, if any


def reset() -> None:
    """Empty what one sequence wrote (transactional tests: nothing rolls back by itself between examples)."""
    PullLogEntry.objects.all().delete()
    PullRunStation.objects.all().delete()
    PullRunBatch.objects.all().delete()
    PullRun.objects.all().delete()
    DailyValue.objects.all().delete()
    ContinuousValue.objects.all().delete()
    for config in PullConfiguration.objects.all():
        config.delete()  # one by one: the signals remove each PeriodicTask
    TimeSeries.objects.all().delete()
    MonitoringLocation.objects.all().delete()
    RateLimitBucket.objects.all().delete()


def ensure_location(station: FakeStation) -> int:
    """The catalog row of a fake station (zone from its USGS time zone code and daylight-saving flag)."""
    location, _ = MonitoringLocation.objects.get_or_create(
        monitoring_location_id=station.monitoring_location_id,
        defaults={
            "agency_code": station.agency_code,
            "site_number": station.site_number,
            "name": station.name,
            "tz_abbreviation": station.time_zone_abbreviation,
            "uses_dst": station.uses_daylight_savings == "Y",
        },
    )
    return location.pk


def zone_of(location_id: int) -> dt.tzinfo:
    return MonitoringLocation.objects.get(pk=location_id).zone or dt.UTC


def create_configuration(name: str, kind: str, strategy: str, start_date: dt.date, location_ids: list[int]) -> int:
    config = PullConfiguration.objects.create(
        name=name, data_type=DATA_TYPE[kind], strategy=strategy, start_date=start_date, timezone="UTC"
    )
    add_stations(config.pk, location_ids)
    return config.pk


def add_stations(config_id: int, location_ids: list[int]) -> None:
    for pk in location_ids:
        PullConfigurationStation.objects.get_or_create(configuration_id=config_id, location_id=pk)


def remove_station(config_id: int, location_id: int) -> None:
    for membership in PullConfigurationStation.objects.filter(configuration_id=config_id, location_id=location_id):
        membership.delete()  # as the form does: its signal deletes the station's progress row


def edit_configuration(config_id: int, **changes) -> None:
    config = PullConfiguration.objects.get(pk=config_id)
    for name, value in changes.items():
        setattr(config, name, value)
    config.save()


# --- runs ----------------------------------------------------------------------------------------------------


def start(config_id: int, *, backfill: tuple[dt.date, dt.date] | None = None, queued: bool = False) -> int | None:
    """Start (or queue) a run; None when it was recorded as skipped (the configuration already runs)."""
    config = PullConfiguration.objects.get(pk=config_id)
    kwargs = {}
    if backfill is not None:
        kwargs = {"range_start": backfill[0], "range_end": backfill[1]}
    trigger = PullRun.Trigger.BACKFILL if backfill is not None else PullRun.Trigger.MANUAL
    run = (
        run_bookkeeping.queue_run(config, trigger, **kwargs)
        if queued
        else run_bookkeeping.start_run(config, trigger=trigger, **kwargs)
    )
    return None if run.status == PullRun.Status.SKIPPED else run.pk


def take_over(run_id: int) -> None:
    """A worker's run_configuration task takes a queued run over."""
    run_bookkeeping.take_over(run_id, f"sim-task-{run_id}")


def pending(run_id: int) -> list[int]:
    return run_bookkeeping.pending_batches(run_id)


def pull(run_id: int, number: int, *, lose_after_pages: int | None = None) -> bool:
    """Pull one batch over real HTTP. With `lose_after_pages`, the worker dies after that many pages of it (the
    batch is left as a dead worker leaves it). True if the worker survived."""

    def factory(on_event=None, **kwargs):
        pages = 0

        def hooked(kind: str, message: str, data: dict) -> None:
            nonlocal pages
            if on_event is not None:
                on_event(kind, message, data)
            if kind == "page" and lose_after_pages is not None:
                pages += 1
                if pages >= lose_after_pages:
                    raise WorkerLost(f"worker lost after {pages} pages of batch {number} of run {run_id}")

        return build_client(on_event=hooked, **kwargs)

    try:
        smart_append.pull_batch(run_id, number, client_factory=factory)
    except WorkerLost:
        connection.close()  # the process is gone, and its database session with it
        return False
    return True


def janitor(now: dt.datetime) -> list[int]:
    return janitor_module.janitor(now=now)


def silent_after() -> dt.timedelta:
    """How long a running batch may be silent before the janitor presumes its worker lost."""
    return run_bookkeeping.station_silent_after()


def pending_silent_after() -> dt.timedelta:
    return janitor_module.stale_after_default()


def mute_task_sends(monkeypatch, sent: list) -> None:
    """The janitor re-sends tasks through Celery; here they are recorded and the machine pulls what is pending."""
    monkeypatch.setattr(tasks.run_batch, "delay", lambda *args, **kwargs: sent.append(("run_batch", args)))
    monkeypatch.setattr(tasks.run_configuration, "delay", lambda *args, **kwargs: sent.append(("run", args)))


def active_runs() -> list[int]:
    return list(PullRun.objects.active().order_by("pk").values_list("pk", flat=True))


def active_run_of(config_id: int) -> int | None:
    return PullRun.objects.active().filter(configuration_id=config_id).values_list("pk", flat=True).first()


def is_active(run_id: int) -> bool:
    return PullRun.objects.active().filter(pk=run_id).exists()


def outcome(run_id: int) -> RunOutcome:
    run = PullRun.objects.get(pk=run_id)
    return RunOutcome(
        run_id=run.pk,
        status=run.status,
        config_id=run.configuration_id,
        trigger=run.trigger,
        start_date=run.start_date,
        range_start=run.range_start,
        range_end=run.range_end,
        created_at=run.created_at,
        stations=dict(run.stations.values_list("location_id", "status")),
        errors=dict(run.stations.exclude(error="").values_list("location_id", "error")),
    )


# --- what is stored --------------------------------------------------------------------------------------------


def progress(config_id: int, location_id: int, kind: str) -> dt.date | dt.datetime | None:
    row = StationProgress.objects.filter(configuration_id=config_id, location_id=location_id).first()
    if row is None:
        return None
    return row.newest_date if kind == DAILY else row.newest_time


def stored(series_id: str, kind: str) -> tuple[dict, int]:
    """The stored rows of the fake's series `series_id`: {time: (value, qualifiers, approval)}, and how many times
    are stored more than once."""
    model, key = (DailyValue, "date") if kind == DAILY else (ContinuousValue, "time")
    rows = model.objects.filter(series__time_series_id=series_id)
    values = {
        getattr(r, key): (r.value, list(r.qualifiers or []), r.approval_status)
        for r in rows.only(key, "value", "qualifiers", "approval_status")
    }
    dupes = rows.values(key).annotate(n=Count("pk")).filter(n__gt=1).count()
    return values, dupes


def is_stored(series_id: str, kind: str, at: dt.date | dt.datetime) -> bool:
    model, key = (DailyValue, "date") if kind == DAILY else (ContinuousValue, "time")
    return model.objects.filter(series__time_series_id=series_id, **{key: at}).exists()


def accounting_problems() -> list[str]:
    """Every finished run's counts add up: per station received = inserted + updated + unchanged; the run's totals
    are its stations' sums; succeeded + failed + skipped = total. And a member never claimed never fails (a batch
    waiting in the queue is not lost, DESIGN §4.9)."""
    problems = []
    for run in PullRun.objects.finished().exclude(status=PullRun.Status.SKIPPED):
        rows = run.stations.all()
        for s in rows:
            added_up = s.values_inserted + s.values_updated + s.values_unchanged
            if s.status == "succeeded" and s.values_received != added_up:
                problems.append(
                    f"[accounting] run {run.pk} station {s.location_id}: received {s.values_received} ≠ inserted "
                    f"{s.values_inserted} + updated {s.values_updated} + unchanged {s.values_unchanged}"
                )
            if s.status == "failed" and not s.attempts and run.configuration_id is not None:
                problems.append(
                    f"[unclaimed-failure] run {run.pk} station {s.location_id} failed without ever being claimed: "
                    f"{s.error[:160]}"
                )
        statuses = list(rows.values_list("status", flat=True))
        if any(status not in FINISHED for status in statuses):
            problems.append(f"[accounting] run {run.pk} is {run.status} with unfinished stations {statuses}")
        if run.stations_total != len(statuses):
            problems.append(
                f"[accounting] run {run.pk}: stations_total {run.stations_total} ≠ {len(statuses)} station rows"
            )
        if run.stations_succeeded != statuses.count("succeeded") or run.stations_failed != statuses.count("failed"):
            problems.append(
                f"[accounting] run {run.pk}: succeeded/failed {run.stations_succeeded}/{run.stations_failed} ≠ "
                "station rows "
                f"{statuses.count('succeeded')}/{statuses.count('failed')}"
            )
        sums = rows.aggregate(i=Sum("values_inserted"), u=Sum("values_updated"), n=Sum("values_unchanged"))
        totals = (run.values_inserted, run.values_updated, run.values_unchanged)
        if totals != (sums["i"] or 0, sums["u"] or 0, sums["n"] or 0):
            problems.append(f"[accounting] run {run.pk}: totals {totals} ≠ its stations' sums {tuple(sums.values())}")
    return problems

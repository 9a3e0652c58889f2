"""Smart Append (DESIGN.md §4): pull one station of a run and commit its values and progress together.

1. Window: `append` asks from the station's newest committed time (inclusive) to now, or from the configuration's
   start date; `overwrite` asks for the whole range from the start date and replaces it; a backfill run asks for its
   date range. Continuous windows are cut into pieces of at most 1000 days by the client.
2. Revisions: an `append` station with an earlier success also asks for values modified since that success.
3. Atomic commit: every page of every window is read first; then the values, the progress row and the station's
   run row are written in one transaction. Any failure before or during it leaves values and progress untouched.
4. Idempotent: the upsert rewrites only rows whose value, qualifiers or approval changed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from acquisition import runs
from acquisition.client import build_client
from acquisition.parsers import choose_primary
from acquisition.runlog import ERROR, WARNING, StationEvents, plural, when
from acquisition.storage import StoreCounts, store_readings
from acquisition.usgs import USGSClient
from monitoring.models import PullRun, PullRunStation
from pulls.models import PullConfiguration, StationProgress
from stations.models import MonitoringLocation, TimeSeries

logger = logging.getLogger(__name__)

# Ask for revisions from a little before the last success: USGS stamps last_modified when a record is refreshed,
# which can trail the moment it becomes visible (SPEC §7: "last_sweep_utc - 1h").
REVISION_OVERLAP = dt.timedelta(hours=1)
# Continuous revisions are looked for in the most recent window only: approvals land within months, and every
# older 1000-day window would cost one more request per station per run.
CONTINUOUS_REVISION_DAYS = USGSClient.MAX_CONTINUOUS_WINDOW_DAYS
FAR_FUTURE_DATE = dt.date(9999, 12, 31)
FAR_FUTURE_TIME = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)


class StationError(Exception):
    """A station cannot be pulled for a reason the operator can act on; the message says what to do."""


class StationSkipped(Exception):
    """The station left the configuration during the run: nothing to pull, nothing failed."""


@dataclass
class Window:
    start: dt.date | dt.datetime
    end: dt.date | dt.datetime | None  # None: up to now
    replace: tuple | None = None  # overwrite: the stored range the response replaces
    revisions_since: dt.datetime | None = None
    revisions_from: dt.date | dt.datetime | None = None  # continuous: where the revision pass starts
    backfill: bool = False


def utc_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)


def plan_window(run: PullRun, progress: StationProgress, kind: str, now: dt.datetime) -> Window:
    """What to ask USGS for, for this station in this run."""
    config = run.configuration
    daily = kind == TimeSeries.Kind.DAILY
    if run.range_start or run.range_end:
        start = run.range_start or config.start_date
        end = run.range_end or now.date()
        if daily:
            return Window(start, end, backfill=True)
        last_second = utc_midnight(end + dt.timedelta(days=1)) - dt.timedelta(seconds=1)
        return Window(utc_midnight(start), last_second, backfill=True)
    if config.strategy == PullConfiguration.Strategy.OVERWRITE:
        start = config.start_date if daily else utc_midnight(config.start_date)
        return Window(start, None, replace=(start, FAR_FUTURE_DATE if daily else FAR_FUTURE_TIME))
    newest = progress.newest_date if daily else progress.newest_time
    start = newest or (config.start_date if daily else utc_midnight(config.start_date))
    if not (progress.last_success_at and newest):
        return Window(start, None)
    since = progress.last_success_at - REVISION_OVERLAP
    if daily:
        return Window(start, None, revisions_since=since)
    recent = now - dt.timedelta(days=CONTINUOUS_REVISION_DAYS)
    return Window(start, None, revisions_since=since, revisions_from=max(utc_midnight(config.start_date), recent))


def choose_series(progress: StationProgress, location: MonitoringLocation, kind: str, client: USGSClient):
    """The series this configuration pulls for the station: the one it pulled before, else the catalog's primary,
    else the primary one USGS lists in time-series-metadata (recorded in the catalog for next time)."""
    if progress.time_series_id and progress.time_series.kind == kind:
        return progress.time_series
    known = TimeSeries.objects.filter(location=location, kind=kind, primary=True).first()
    if known is not None:
        return known
    chosen = choose_primary(client.time_series_metadata(location.monitoring_location_id, kind=kind))
    if chosen is None:
        return None
    series, _ = TimeSeries.objects.update_or_create(
        time_series_id=chosen.time_series_id,
        defaults={
            "location": location,
            "kind": kind,
            "parameter_code": chosen.parameter_code or "00060",
            "statistic_id": chosen.statistic_id or ("00003" if kind == TimeSeries.Kind.DAILY else "00011"),
            "primary": chosen.primary,
            "begin": chosen.begin,
            "end": chosen.end,
            "unit": chosen.unit_of_measure or "ft^3/s",
        },
    )
    flag = "has_daily" if kind == TimeSeries.Kind.DAILY else "has_continuous"
    MonitoringLocation.objects.filter(pk=location.pk).update(**{flag: True})
    return series


def _count_windows(client: USGSClient, kind: str, window: Window, now: dt.datetime) -> tuple[int, int]:
    if kind == TimeSeries.Kind.DAILY:
        return 1, 1 if window.revisions_since else 0
    main = len(client.continuous_windows(window.start, window.end or now))
    rev = len(client.continuous_windows(window.revisions_from, now)) if window.revisions_since else 0
    return main, rev


def _fetch(
    client: USGSClient,
    series: TimeSeries,
    window: Window,
    now: dt.datetime,
    window_done: Callable,
    phase: Callable[[str], None] = lambda label: None,
) -> list:
    """Every reading of the window (and of the revision pass), all pages read. Nothing is stored here.

    `phase` is told which request the next pages answer ("window 2026-11-01 → now", "revisions since …"), so the
    log can say which "page 1" is which.
    """
    ts = series.time_series_id
    readings: list = []
    if series.kind == TimeSeries.Kind.DAILY:
        if window.revisions_since:
            phase(f"revisions since {when(window.revisions_since)}")
            readings += client.daily(time_series_id=ts, start=None, last_modified_since=window.revisions_since)
            window_done()
        phase(f"window {when(window.start)} → {when(window.end) if window.end else 'now'}")
        readings += client.daily(time_series_id=ts, start=window.start, end=window.end)
        window_done()
    else:

        def pass_of(label: str, start, end):
            pieces = client.continuous_windows(start, end)

            def label_of(number: int) -> str:
                a, b = pieces[number - 1]
                part = f" (part {number} of {len(pieces)}: {when(a)} → {when(b)})" if len(pieces) > 1 else ""
                return label + part

            phase(label_of(1))

            def on_window(number: int, total: int, *_):
                window_done()
                if number < len(pieces):
                    phase(label_of(number + 1))

            return on_window

        if window.revisions_since:
            label = f"revisions since {when(window.revisions_since)}"
            readings += client.continuous(
                time_series_id=ts,
                start=window.revisions_from,
                end=now,
                last_modified_since=window.revisions_since,
                on_window=pass_of(label, window.revisions_from, now),
            )
        label = f"window {when(window.start)} → {when(window.end) if window.end else 'now'}"
        end = window.end or now
        readings += client.continuous(
            time_series_id=ts, start=window.start, end=end, on_window=pass_of(label, window.start, end)
        )
    # Keep the chosen series only: a query by series id returns nothing else, but never store a stranger's rows.
    return [r for r in readings if r.time_series_id in (ts, "")]


def _commit(
    run_station: PullRunStation,
    progress: StationProgress,
    series: TimeSeries,
    window: Window,
    readings: list,
    started: dt.datetime,
    requests_made: int,
) -> StoreCounts:
    """Values, progress and the station's run row in one transaction."""
    daily = series.kind == TimeSeries.Kind.DAILY
    if window.replace and not readings and _stored_in(series, window.replace):
        # The series may be shared with other configurations: an empty answer (an outage, a series renamed
        # upstream) must not wipe what they rely on.
        raise StationError(
            f"USGS returned nothing for {when(window.replace[0])} → now; the stored values were kept. "
            "Run it again later; if USGS keeps answering nothing, check the station on waterdata.usgs.gov."
        )
    with transaction.atomic():
        counts = store_readings(series.kind, series.pk, readings, replace=window.replace)
        progress = StationProgress.objects.select_for_update().filter(pk=progress.pk).first()
        if progress is None:  # the configuration was deleted, or the station removed from it, meanwhile
            if not PullConfiguration.objects.filter(pk=run_station.run.configuration_id).exists():
                raise StationError(runs.CONFIGURATION_DELETED)
            raise StationSkipped(_removed(run_station))
        newest = max((r.time for r in readings), default=None)
        field = "newest_date" if daily else "newest_time"
        old = getattr(progress, field)
        if newest is not None and (old is None or newest > old):
            setattr(progress, field, newest)  # a backfill of an older range never moves progress backwards
        progress.time_series = series
        progress.last_attempt_at = timezone.now()
        if not window.backfill:
            # The revision pass of the next run starts here, so it is the moment this pull *started*.
            progress.last_success_at = started
            progress.last_error = ""
            progress.consecutive_failures = 0
        progress.save()
        if not runs.mark_station_succeeded(
            run_station.pk,
            values_received=counts.received,
            values_inserted=counts.inserted,
            values_updated=counts.updated,
            values_unchanged=counts.unchanged,
            requests_made=requests_made,
        ):
            raise StationError(
                "Another attempt of this station (or the janitor) finished it first; this attempt stored nothing."
            )
    return counts


def _removed(run_station: PullRunStation) -> str:
    return (
        f"{run_station.location.monitoring_location_id} was removed from “{run_station.run.configuration_name}” "
        "during this run; it was skipped and nothing was stored for it."
    )


def _stored_in(series: TimeSeries, replace: tuple) -> bool:
    model = series.daily_values if series.kind == TimeSeries.Kind.DAILY else series.continuous_values
    key = "date" if series.kind == TimeSeries.Kind.DAILY else "time"
    return model.filter(**{f"{key}__range": replace}).exists()


def pull_station(
    run_id: int,
    location_id: int,
    *,
    client_factory: Callable[..., USGSClient] = build_client,
    echo: Callable[[str], None] | None = None,
    worker: str = "",
    db_errors: bool = False,
) -> PullRunStation | None:
    """Pull one station of run `run_id`, record the outcome, and finalize the run if it was the last station.

    Returns the station's run row, or None when there was nothing to do (run over, station finished or being
    pulled by another task). With `db_errors=True` (the Celery task) a database error is raised to the caller,
    which retries on a fresh connection; otherwise it is recorded as the station's failure.
    """
    run_station = runs.claim_station(run_id, location_id, worker=worker)
    if run_station is None:
        runs.finalize_run(run_id)  # a duplicate of the last station's task: make sure the run is not left open
        return None
    run = run_station.run
    site = run_station.location.monitoring_location_id
    events = StationEvents(run_station, site)
    events.echo = echo
    if run_station.attempts > 1:
        events.say(
            f"Attempt {run_station.attempts}: pulling this station again (earlier attempts made "
            f"{run_station.requests_made} requests and stored nothing).",
            level=WARNING,
        )
    client = None
    started = timezone.now()
    try:
        client = events.client = client_factory(on_event=events, on_throttle_wait=events.throttled)
        _pull(run, run_station, client, events, started)
    except StationSkipped as exc:
        runs.fail_station(run_station, str(exc), status=PullRunStation.Status.SKIPPED)
        events.say(str(exc), level=WARNING)
    except Exception as exc:
        if db_errors and isinstance(exc, OperationalError | InterfaceError):
            runs.drop_unusable_connection()
            raise
        message = str(exc) or type(exc).__name__
        if not isinstance(exc, StationError | OSError) and type(exc).__module__ != "acquisition.usgs":
            logger.exception("station %s of run %s failed", site, run_id)
            message = f"{type(exc).__name__}: {message}"
        runs.fail_station(run_station, message, requests_made=events.requests())
        events.say(
            f"Failed: {message} Its stored values and progress are unchanged; the next run retries this window.",
            level=ERROR,
        )
    finally:
        if client is not None:
            client.close()
    runs.station_finished(run_id)
    return PullRunStation.objects.get(pk=run_station.pk)


def _pull(run: PullRun, run_station: PullRunStation, client: USGSClient, events: StationEvents, started) -> None:
    config = run.configuration
    location = run_station.location
    site = location.monitoring_location_id
    if config is None or not PullConfiguration.objects.filter(pk=config.pk).exists():
        raise StationError(runs.CONFIGURATION_DELETED)
    if not config.memberships.filter(location=location).exists():
        raise StationSkipped(_removed(run_station))
    kind = config.series_kind
    progress, _ = StationProgress.objects.get_or_create(configuration=config, location=location)
    events.set_phase("series list")
    series = choose_series(progress, location, kind, client)
    if series is None:
        raise StationError(
            f"USGS lists no {kind} discharge series for {site}. Remove the station from “{config.name}”, "
            "or pull its other data type."
        )
    window = plan_window(run, progress, kind, started)
    main, rev = _count_windows(client, kind, window, started)
    PullRunStation.objects.filter(pk=run_station.pk).update(
        time_series=series,
        window_start=window.start if kind != TimeSeries.Kind.DAILY else utc_midnight(window.start),
        window_end=(
            started
            if window.end is None
            else window.end
            if kind != TimeSeries.Kind.DAILY
            else utc_midnight(window.end + dt.timedelta(days=1))
        ),
        windows_total=main + rev,
    )
    end_text = "now" if window.end is None else when(window.end)
    asked = f"Asking {kind} values {when(window.start)} → {end_text} (series {series.time_series_id}"
    asked += f", {main} window{'s' if main != 1 else ''}"
    if window.revisions_since:
        asked += f", plus values revised since {when(window.revisions_since)}"
    if window.replace:
        asked += ", replacing the stored range"
    events.say(asked + ").")

    def window_done() -> None:
        PullRunStation.objects.filter(pk=run_station.pk).update(
            windows_done=F("windows_done") + 1, heartbeat_at=timezone.now()
        )

    readings = _fetch(client, series, window, started, window_done, events.set_phase)
    counts = _commit(run_station, progress, series, window, readings, started, events.requests())
    deleted = f", deleted {counts.deleted}" if counts.deleted else ""
    events.say(
        f"{plural(counts.received, 'value')} received ({plural(events.pages, 'page')} fetched); inserted "
        f"{counts.inserted}, updated {counts.updated}, unchanged {counts.unchanged}{deleted}."
    )


def run_inline(
    configuration: PullConfiguration,
    *,
    trigger: str = PullRun.Trigger.MANUAL,
    triggered_by: str = "",
    range_start: dt.date | None = None,
    range_end: dt.date | None = None,
    echo: Callable[[str], None] | None = None,
    client_factory: Callable[..., USGSClient] = build_client,
) -> PullRun:
    """Run a configuration in this process, station after station (run_pull, tests): no broker involved."""
    run = runs.start_run(
        configuration, trigger=trigger, triggered_by=triggered_by, range_start=range_start, range_end=range_end
    )
    if run.is_active:
        for location_id in run.stations.values_list("location_id", flat=True):
            pull_station(run.pk, location_id, client_factory=client_factory, echo=echo)
    run.refresh_from_db()
    return run

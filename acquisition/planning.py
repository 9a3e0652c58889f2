"""Planning a run: what each station asks for, and which stations share their requests (DESIGN.md §4.1, §4.5).

Windows (per station, from its progress and the run's snapshot of the configuration):
- `append` asks from the station's newest committed time (inclusive) to now, or from the start date; with an
  earlier success it also asks for the values of its series modified since then (minus REVISION_OVERLAP);
- `overwrite` asks for everything from the start date and replaces that range;
- a backfill asks for its date range and never moves progress backwards.
Days are the station's own: a continuous window starting on a date starts at that date's local midnight, and a
backfill to D2 ends at the last second of D2 where the station is (stations.MonitoringLocation.zone).

Batches. The source charges per request, not per value, so stations share requests. The rule:
1. Each station's cost is the values a request from *the batch's* earliest boundary returns for it:
   `days(batch start → end) × values per day` (1 for daily, 96 for continuous: 15-minute data, the common case).
2. Stations are taken oldest boundary first; a batch takes the next station while it has fewer than
   `ACQUISITION_BATCH_SERIES` members (200: what an 8 KB URL holds, SPEC §7.1) and its summed cost stays within
   `ACQUISITION_BATCH_VALUES` (50,000: about one full page). A batch always takes at least one station.
So caught-up stations (a day or an hour behind) fill batches of 200 — an incremental run of N of them costs
`2 × ceil(N / 200)` requests (window + revisions) plus pages — while first loads, long outages, backfills and
overwrites are volume-bound: a station whose own record passes the budget gets a batch of its own, and continuous
windows are cut into pieces of ≤ 1000 days by the client whatever the batch.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from acquisition.models import PullRun, PullRunBatch, PullRunStation
from pulls.models import PullConfiguration, StationProgress
from stations.models import MonitoringLocation, TimeSeries

# Ask for revisions from a little before the last success: USGS stamps last_modified when a record is refreshed,
# which can trail the moment it becomes visible (SPEC §7: "last_sweep_utc - 1h").
REVISION_OVERLAP = dt.timedelta(hours=1)
# Continuous revisions are looked for in the most recent 1000 days only: approvals land within months, and every
# older window would cost one more request per batch per run.
CONTINUOUS_REVISION_DAYS = 1000
FAR_FUTURE_DATE = dt.date(9999, 12, 31)
FAR_FUTURE_TIME = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
VALUES_PER_DAY = {TimeSeries.Kind.DAILY: 1, TimeSeries.Kind.CONTINUOUS: 96}


def batch_series() -> int:
    return int(getattr(settings, "ACQUISITION_BATCH_SERIES", 200))


def batch_values() -> int:
    return int(getattr(settings, "ACQUISITION_BATCH_VALUES", 50_000))


@dataclass
class Window:
    start: dt.date | dt.datetime
    end: dt.date | dt.datetime | None  # None: up to now
    replace: tuple | None = None  # overwrite: the stored range the response replaces
    revisions_since: dt.datetime | None = None
    revisions_from: dt.date | dt.datetime | None = None  # continuous: where the revision pass starts
    backfill: bool = False


def local_midnight(day: dt.date, zone: dt.tzinfo | None) -> dt.datetime:
    """The first instant of `day` where the station is (UTC where its zone is unknown), as aware UTC."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone or dt.UTC).astimezone(dt.UTC)


def plan_window(
    run: PullRun,
    start_date: dt.date,
    progress: StationProgress | None,
    location: MonitoringLocation,
    now: dt.datetime,
) -> Window:
    """What to ask USGS for, for this station in this run (the run's data type and strategy, not the live
    configuration's: an edit during the run does not change what the run said it does)."""
    daily = run.data_type == PullConfiguration.DataType.DAILY_MEAN
    zone = location.zone
    if run.range_start or run.range_end:
        start = run.range_start or start_date
        end = run.range_end or now.date()
        if daily:
            return Window(start, end, backfill=True)
        last_second = local_midnight(end + dt.timedelta(days=1), zone) - dt.timedelta(seconds=1)
        return Window(local_midnight(start, zone), last_second, backfill=True)
    first = start_date if daily else local_midnight(start_date, zone)
    if run.strategy == PullConfiguration.Strategy.OVERWRITE:
        return Window(first, None, replace=(first, FAR_FUTURE_DATE if daily else FAR_FUTURE_TIME))
    newest = None if progress is None else (progress.newest_date if daily else progress.newest_time)
    start = newest or first
    if progress is None or not (progress.last_success_at and newest):
        return Window(start, None)
    since = progress.last_success_at - REVISION_OVERLAP
    if daily:
        return Window(start, None, revisions_since=since)
    recent = now - dt.timedelta(days=CONTINUOUS_REVISION_DAYS)
    return Window(start, None, revisions_since=since, revisions_from=max(first, recent))


def _days(start: dt.date | dt.datetime, end: dt.date | dt.datetime | None, now: dt.datetime) -> float:
    if isinstance(start, dt.datetime):
        stop = end if isinstance(end, dt.datetime) else now
        return max(0.0, (stop - start).total_seconds() / 86400)
    stop = end if end is not None else now.date()
    return max(0, (stop - start).days) + 1


def group(starts: list[tuple[int, dt.date | dt.datetime]], *, end, kind: str, now: dt.datetime) -> list[list[int]]:
    """Station keys grouped into batches by the module's rule. `starts` is (key, window start) per station."""
    rate = VALUES_PER_DAY[kind]
    limit_series, budget = batch_series(), batch_values()
    batches: list[list[int]] = []
    current: list[int] = []
    cost = 0.0
    batch_start = None
    for key, start in sorted(starts, key=lambda item: (item[1], item[0])):
        if current:
            more = _days(batch_start, end, now) * rate
            if len(current) < limit_series and cost + more <= budget:
                current.append(key)
                cost += more
                continue
            batches.append(current)
        current, batch_start = [key], start
        cost = _days(start, end, now) * rate
    if current:
        batches.append(current)
    return batches


def plan_batches(run: PullRun, now: dt.datetime) -> int:
    """Put the run's stations that have no batch yet into batches (rows created); returns how many were made."""
    config = run.configuration
    if config is None:
        return 0
    unplanned = list(run.stations.filter(batch__isnull=True).select_related("location"))
    if not unplanned:
        return 0
    progress = {
        p.location_id: p
        for p in StationProgress.objects.filter(
            configuration=config, location_id__in=[s.location_id for s in unplanned]
        )
    }
    windows = {
        s.pk: plan_window(run, run.start_date or config.start_date, progress.get(s.location_id), s.location, now)
        for s in unplanned
    }
    kind = TimeSeries.Kind.DAILY if run.data_type == PullConfiguration.DataType.DAILY_MEAN else "continuous"
    end = next(iter(windows.values())).end
    groups = group([(pk, w.start) for pk, w in windows.items()], end=end, kind=kind, now=now)
    first_number = (run.batches.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    rate = VALUES_PER_DAY[kind]
    with transaction.atomic():
        for offset, members in enumerate(groups):
            earliest = min(windows[pk].start for pk in members)
            batch = PullRunBatch.objects.create(
                run=run,
                number=first_number + offset,
                stations=len(members),
                values_expected=int(_days(earliest, end, now) * rate * len(members)),
                heartbeat_at=now,
            )
            PullRunStation.objects.filter(pk__in=members).update(batch=batch)
    return len(groups)

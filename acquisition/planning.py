"""Planning a run: one frozen plan per member, and which members share their requests (DESIGN.md §4.1, §4.5, §4.8).

Each member's plan (`MemberPlan`) is decided once, from its progress and the run's snapshot of the configuration,
and used alike by the fetch (what to ask), the fetch's filter (which rows are this member's) and the commit (what to
replace, whether progress moves):
- the **window** [start, end], both ends inclusive, in the station's own day: a continuous window starting on a date
  starts at that date's local midnight (stations.MonitoringLocation.zone), a re-pull to D2 ends at the last second
  of D2 where the station is; an append or overwrite ends at the run's start (continuous) or its UTC date (daily);
- the **revision floor**: the configuration's start date in the station's day. Nothing before it is ever stored,
  whichever pass brought it;
- the **replace range** (overwrite only): the window itself, never past what the fetch asked for, so values another
  configuration stored after it meanwhile are never deleted;
- the **revision pass** (append with an earlier success): values of the series modified since the station's last
  revision check, taken on USGS's clock (`revision_cutoff`: its `Date` header when the pull began, or the worker's
  clock if that is earlier, minus REVISION_OVERLAP for USGS's visibility lag), anywhere from the floor to the end.
  Daily series ask the whole range every run (one request). Continuous series ask the most recent
  CONTINUOUS_REVISION_DAYS every run, and the whole range, in pieces of ≤ 1000 days, when their deep check is due
  (ACQUISITION_DEEP_REVISION_HOURS, default weekly, since the last one): in DESIGN §4 terms, rule 2's "revisions
  anywhere in history land" holds for continuous series within the deep interval rather than at the next run — a
  revision older than 1000 days lands by the next deep check at the latest, and never before the floor;
- **moves_progress**: a re-pull (backfill) never moves progress or the last success, so the append after it still
  starts from the station's own progress; a start date moved earlier than what the station's progress covers
  (`covered_from`) makes the next append load from the start date again.

Batches. The source charges per request, not per value, so stations share requests. The rule:
1. Each station's cost is the values a request from *the batch's* earliest boundary returns for it:
   `days(batch start → end) × values per day` (1 for daily, 96 for continuous: 15-minute data, the common case).
2. Stations are taken oldest boundary first; a batch takes the next station while it has fewer than
   `ACQUISITION_BATCH_SERIES` members (2,000: past ~200, what an 8 KB URL holds, the client POSTs the list as
   CQL2-JSON, SPEC §1, §7.1) and its summed cost stays within `ACQUISITION_BATCH_VALUES` (50,000: about one full
   page). A batch always takes at least one station.
So caught-up stations (a day or an hour behind) fill batches of 2,000 — an incremental run of N of them costs
`2 × ceil(N / 2000)` requests (window + revisions) plus pages — while first loads, long outages, backfills and
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

# USGS stamps last_modified when a record is refreshed, which can trail the moment it becomes visible (SPEC §7:
# "last_sweep_utc - 1h"): the revision pass asks from this much before the last check.
REVISION_OVERLAP = dt.timedelta(hours=1)
# Continuous revisions are looked for in the most recent 1000 days at every run (approvals land within months);
# the whole range only when the deep check is due (module docstring).
CONTINUOUS_REVISION_DAYS = 1000
VALUES_PER_DAY = {TimeSeries.Kind.DAILY: 1, TimeSeries.Kind.CONTINUOUS: 96}

Moment = dt.date | dt.datetime


@dataclass(frozen=True)
class MemberPlan:
    """What one member of a run asks for, keeps, replaces and moves (see the module docstring)."""

    daily: bool
    start: Moment  # the window, both ends inclusive
    end: Moment
    floor: Moment  # the configuration's start date in the station's day: nothing before it is stored
    replace: tuple[Moment, Moment] | None = None  # overwrite: the stored range the answer replaces
    revisions_since: dt.datetime | None = None  # the revision pass: modified since then …
    revisions_from: Moment | None = None  # … from here to `end`
    deep: bool = False  # the revision pass covers the whole range (a continuous series' deep check)
    moves_progress: bool = True  # False for a re-pull: progress and the last success stay as they were
    covers_from: dt.date | None = None  # what the station's progress covers from once this pull commits

    def keeps(self, time: Moment, *, revision: bool) -> bool:
        """Is a row at `time` this member's? Its window's rows from its own start; the revision pass's from the
        floor; never past its end."""
        low = self.floor if revision else self.start
        return low <= time <= self.end


@dataclass(frozen=True)
class BatchPlan:
    """The requests a batch makes for all its members: one revision pass (for those that have one), then one
    window from the earliest member start to the latest member end."""

    daily: bool
    start: Moment
    end: Moment
    revisions_since: dt.datetime | None
    revisions_from: Moment | None
    revising: tuple[int, ...]  # keys (run station pks) of the members the revision pass is for
    replaces: bool

    @classmethod
    def of(cls, plans: dict[int, MemberPlan]) -> BatchPlan:
        revising = {key: p for key, p in plans.items() if p.revisions_since is not None}
        values = list(plans.values())
        return cls(
            daily=values[0].daily,
            start=min(p.start for p in values),
            end=max(p.end for p in values),
            revisions_since=min((p.revisions_since for p in revising.values()), default=None),
            revisions_from=min((p.revisions_from for p in revising.values()), default=None),
            revising=tuple(sorted(revising)),
            replaces=any(p.replace for p in values),
        )


def batch_series() -> int:
    return settings.ACQUISITION_BATCH_SERIES


def batch_values() -> int:
    return settings.ACQUISITION_BATCH_VALUES


def deep_revision_interval() -> dt.timedelta:
    return dt.timedelta(hours=settings.ACQUISITION_DEEP_REVISION_HOURS)


def local_midnight(day: dt.date, zone: dt.tzinfo | None) -> dt.datetime:
    """The first instant of `day` where the station is (UTC where its zone is unknown), as aware UTC."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone or dt.UTC).astimezone(dt.UTC)


def local_day_end(day: dt.date, zone: dt.tzinfo | None) -> dt.datetime:
    """The last second of `day` where the station is, as aware UTC (a re-pull to `day` asks through it)."""
    return local_midnight(day + dt.timedelta(days=1), zone) - dt.timedelta(seconds=1)


def plan_member(
    run: PullRun,
    start_date: dt.date,
    progress: StationProgress | None,
    location: MonitoringLocation,
    now: dt.datetime,
) -> MemberPlan:
    """This member's plan in this run (the run's data type, strategy and start date, not the live configuration's:
    an edit during the run does not change what the run said it does). `now` is the run's clock."""
    daily = run.data_type == PullConfiguration.DataType.DAILY_MEAN
    zone = location.zone
    floor = start_date if daily else local_midnight(start_date, zone)
    end = now.date() if daily else now
    if run.range_start or run.range_end:
        first = max(run.range_start or start_date, start_date)  # a re-pull never reaches before the start date
        last = run.range_end or now.date()
        if daily:
            start, stop = first, min(last, end)
        else:
            start, stop = local_midnight(first, zone), min(local_day_end(last, zone), now)
        return MemberPlan(daily, start, max(start, stop), floor, moves_progress=False)
    if run.strategy == PullConfiguration.Strategy.OVERWRITE:
        return MemberPlan(daily, floor, end, floor, replace=(floor, end), deep=True, covers_from=start_date)
    newest = None if progress is None else (progress.newest_date if daily else progress.newest_time)
    since = None if progress is None else progress.revisions_checked_at
    covered = progress is not None and progress.covered_from is not None and progress.covered_from <= start_date
    if newest is None or since is None or not covered:
        # No committed pull yet, or the start date moved earlier than what progress covers: from the start date.
        return MemberPlan(daily, floor, end, floor, deep=True, covers_from=start_date)
    start = max(newest, floor)
    if daily:
        return MemberPlan(
            daily, start, end, floor, revisions_since=since - REVISION_OVERLAP, revisions_from=floor, deep=True,
            covers_from=progress.covered_from,
        )  # fmt: skip
    recent = now - dt.timedelta(days=CONTINUOUS_REVISION_DAYS)
    deep_since = progress.deep_revisions_checked_at
    deep = recent <= floor or deep_since is None or now - deep_since >= deep_revision_interval()
    if deep and deep_since is not None:
        since = min(since, deep_since)
    return MemberPlan(
        daily, start, end, floor, revisions_since=since - REVISION_OVERLAP,
        revisions_from=floor if deep else max(floor, recent), deep=deep, covers_from=progress.covered_from,
    )  # fmt: skip


def _days(start: Moment, end: Moment | None, now: dt.datetime) -> float:
    if isinstance(start, dt.datetime):
        stop = end if isinstance(end, dt.datetime) else now
        return max(0.0, (stop - start).total_seconds() / 86400)
    stop = end if end is not None else now.date()
    return max(0, (stop - start).days) + 1


def group(starts: list[tuple[int, Moment]], *, end, kind: str, now: dt.datetime) -> list[list[int]]:
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


def plan_clock(run: PullRun) -> dt.datetime:
    """The run's "now" for every plan of it: when it was created. Every batch of the run, whenever a worker takes
    it, asks up to the same moment, and a retried attempt asks for exactly what the first one did."""
    return run.created_at


def plan_batches(run: PullRun, now: dt.datetime) -> int:
    """Put the run's stations that have no batch yet into batches (rows created; `now` is their first heartbeat);
    returns how many were made."""
    config = run.configuration
    if config is None:
        return 0
    unplanned = list(run.stations.filter(batch__isnull=True).select_related("location"))
    if not unplanned:
        return 0
    progress = {
        (p.location_id, p.parameter_code, p.statistic_id): p
        for p in StationProgress.objects.filter(
            configuration=config, location_id__in={s.location_id for s in unplanned}
        )
    }
    clock = plan_clock(run)
    plans = {
        s.pk: plan_member(
            run, run.start_date or config.start_date, progress.get((s.location_id, *s.selection)), s.location, clock
        )
        for s in unplanned
    }
    kind = TimeSeries.Kind.DAILY if run.data_type == PullConfiguration.DataType.DAILY_MEAN else "continuous"
    end = max(p.end for p in plans.values())
    groups = group([(pk, p.start) for pk, p in plans.items()], end=end, kind=kind, now=clock)
    first_number = (run.batches.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    rate = VALUES_PER_DAY[kind]
    with transaction.atomic():
        for offset, members in enumerate(groups):
            earliest = min(plans[pk].start for pk in members)
            batch = PullRunBatch.objects.create(
                run=run,
                number=first_number + offset,
                stations=len(members),
                values_expected=int(_days(earliest, end, clock) * rate * len(members)),
                heartbeat_at=now,
            )
            PullRunStation.objects.filter(pk__in=members).update(batch=batch)
    return len(groups)

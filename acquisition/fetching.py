"""Fetching a batch: its members' series, the shared requests, every page staged as it arrives.

A batch asks once for all its members (DESIGN.md §4.5): one revision pass (`last_modified` since the earliest of the
revising members' cutoffs, from the earliest of their revision floors) for the members that have one, then one
window from the earliest member start to the latest member end (acquisition.planning.BatchPlan). Each member keeps
only the rows its own plan says are its own (`MemberPlan.keeps`: from its own start, or its floor for revisions,
through its own end); rows of a series nobody in the batch asked for are dropped with a warning. Nothing is stored
here: rows go to the batch attempt's stage (acquisition.staging) and each member commits from it once every page
has arrived.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from acquisition.models import PullRunStation
from acquisition.planning import BatchPlan, MemberPlan
from acquisition.runlog import WARNING, BatchEvents, plural, when
from acquisition.staging import BatchStage
from acquisition.usgs import USGSClient
from acquisition.usgs.parsers import choose_primary
from pulls.models import StationProgress
from stations.models import MonitoringLocation, TimeSeries
from stations.parameters import DISCHARGE, INSTANTANEOUS, MEAN, resolve_statistic

logger = logging.getLogger(__name__)


@dataclass
class Member:
    """One series of a station in a batch (a station pulling three parameters is three members), as its fetch and
    commit see it."""

    run_station: PullRunStation
    progress: StationProgress
    series: TimeSeries | None = None
    plan: MemberPlan | None = None
    staged: int = 0  # rows staged for it (its own, by its plan)
    attempt: int = 0  # the claim this member's writes must still own (fencing)

    @property
    def site(self) -> str:
        return self.run_station.location.monitoring_location_id


def _wanted(m: Member, daily: bool) -> tuple[int, str, str | None]:
    """(location, parameter, statistic) a member pulls; continuous series are matched without their statistic, which
    time-series-metadata gives as null for some of them (SPEC C.6: join on time_series_id, never on the pair)."""
    code, stat = m.run_station.selection
    return (m.run_station.location_id, code, resolve_statistic(code, stat, daily=True) if daily else None)


def discover_series(
    members: list[Member],
    kind: str,
    client: USGSClient,
    *,
    elsewhere: Callable[[], list[MonitoringLocation]] = list,
) -> None:
    """Each member's series: the one its configuration pulled before, else the catalog's primary one of its
    parameter and statistic, else the primary one USGS lists in time-series-metadata — asked for all unknown
    members at once (every parameter they pull in one list), recorded in the catalog.

    `elsewhere()`: stations of the run's other batches the catalog does not know yet (looked up only when this
    batch asks at all), asked in the same request, so a first load of many batches makes one series lookup, not one
    a batch."""
    daily = kind == TimeSeries.Kind.DAILY
    unknown = []
    for m in members:
        known = m.progress.time_series if m.progress.time_series_id else None
        if known is not None and known.kind == kind and known.parameter_code == m.run_station.parameter_code:
            m.series = known
        else:
            unknown.append(m)
    if not unknown:
        return
    primaries: dict[tuple, TimeSeries] = {}
    for s in TimeSeries.objects.filter(
        location__in={m.run_station.location_id for m in unknown},
        kind=kind,
        parameter_code__in={m.run_station.parameter_code for m in unknown},
        primary=True,
    ).order_by("-end", "time_series_id"):
        primaries.setdefault((s.location_id, s.parameter_code, s.statistic_id if daily else None), s)
    ask = []
    for m in unknown:
        m.series = primaries.get(_wanted(m, daily))
        if m.series is None and m.progress.no_series_at is None:  # USGS already said it has none: not asked again
            ask.append(m)
    if not ask:
        return
    locations = {m.run_station.location.monitoring_location_id: m.run_station.location for m in ask}
    locations.update((loc.monitoring_location_id, loc) for loc in elsewhere())
    codes = sorted({m.run_station.parameter_code for m in ask})
    statistics = sorted({_wanted(m, daily)[2] for m in ask}) if daily else None
    listed = client.time_series_metadata(list(locations), kind=kind, parameter_codes=codes, statistic_ids=statistics)
    by_key: dict[tuple, list] = defaultdict(list)
    for info in listed:
        by_key[(info.monitoring_location_id or "", info.parameter_code, info.statistic_id if daily else None)].append(
            info
        )
    chosen = {key: c for key, infos in by_key.items() if key[0] in locations and (c := choose_primary(infos))}
    if not chosen:
        return
    TimeSeries.objects.bulk_create(
        [
            TimeSeries(
                time_series_id=c.time_series_id,
                location=locations[site],
                kind=kind,
                parameter_code=c.parameter_code or code,
                statistic_id=c.statistic_id or (MEAN if daily else INSTANTANEOUS),
                primary=c.primary,
                begin=c.begin,
                end=c.end,
                unit=c.unit_of_measure or "",
            )
            for (site, code, _), c in chosen.items()
        ],
        update_conflicts=True,
        unique_fields=["time_series_id"],
        update_fields=["location", "kind", "parameter_code", "statistic_id", "primary", "begin", "end", "unit"],
    )
    series = {
        s.time_series_id: s
        for s in TimeSeries.objects.filter(time_series_id__in=[c.time_series_id for c in chosen.values()])
    }
    for m in ask:
        location_id, code, stat = _wanted(m, daily)
        c = chosen.get((m.site, code, stat))
        if c is not None:
            m.series = series[c.time_series_id]
    flag = "has_daily" if daily else "has_continuous"
    discharge_sites = {site for (site, code, _) in chosen if code == DISCHARGE}
    MonitoringLocation.objects.filter(pk__in=[locations[site].pk for site in discharge_sites]).update(**{flag: True})


def count_windows(client: USGSClient, plan: BatchPlan) -> int:
    """How many request chains the batch makes (before any split of a too-long list): its progress bar's steps."""
    if plan.daily:
        return 1 + (1 if plan.revising else 0)
    main = len(client.continuous_windows(plan.start, plan.end))
    rev = len(client.continuous_windows(plan.revisions_from, plan.end)) if plan.revising else 0
    return main + rev


def fetch(client: USGSClient, members: list[Member], plan: BatchPlan, stage: BatchStage, events: BatchEvents) -> None:
    """Every page of the batch's requests, staged member by member. Raises on the first request that fails."""
    by_series = {m.series.time_series_id: m for m in members}
    strangers = 0

    def take(readings: list, revision: bool) -> None:
        nonlocal strangers
        rows: dict[str, list] = defaultdict(list)
        for r in readings:
            m = by_series.get(r.time_series_id)
            if m is None:
                strangers += 1
                continue
            if m.plan.keeps(r.time, revision=revision):
                rows[r.time_series_id].append(r)
        for ts, own in rows.items():
            by_series[ts].staged += len(own)
        stage.add_many({by_series[ts].series.pk: own for ts, own in rows.items()})

    if plan.revising:
        revising = set(plan.revising)
        ids = [m.series.time_series_id for m in members if m.run_station.pk in revising]
        events.set_phase(f"revisions since {when(plan.revisions_since)}")
        if plan.daily:
            pages = client.daily_pages(
                ids, start=plan.revisions_from, end=plan.end, last_modified_since=plan.revisions_since
            )
        else:
            pages = client.continuous_pages(
                ids,
                start=plan.revisions_from,
                end=plan.end,
                last_modified_since=plan.revisions_since,
                on_window=lambda *_: events.window_done(),
            )
        for readings in pages:
            take(readings, revision=True)
        if plan.daily:
            events.window_done()
    ids = [m.series.time_series_id for m in members]
    events.set_phase(f"window {when(plan.start)} → {when(plan.end)}")
    if plan.daily:
        pages = client.daily_pages(ids, start=plan.start, end=plan.end)
    else:
        pages = client.continuous_pages(ids, start=plan.start, end=plan.end, on_window=lambda *_: events.window_done())
    for readings in pages:
        take(readings, revision=False)
    if plan.daily:
        events.window_done()
    if strangers:
        events.say(
            f"{events.label}: {plural(strangers, 'row')} of series nobody in this batch asked for were dropped.",
            level=WARNING,
        )

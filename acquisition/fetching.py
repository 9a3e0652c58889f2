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

logger = logging.getLogger(__name__)


@dataclass
class Member:
    """One station of a batch, as its fetch and commit see it."""

    run_station: PullRunStation
    progress: StationProgress
    series: TimeSeries | None = None
    plan: MemberPlan | None = None
    staged: int = 0  # rows staged for it (its own, by its plan)
    attempt: int = 0  # the claim this member's writes must still own (fencing)

    @property
    def site(self) -> str:
        return self.run_station.location.monitoring_location_id


def discover_series(
    members: list[Member],
    kind: str,
    client: USGSClient,
    *,
    elsewhere: Callable[[], list[MonitoringLocation]] = list,
) -> None:
    """Each member's series: the one its configuration pulled before, else the catalog's primary, else the primary
    one USGS lists in time-series-metadata — asked for all unknown members at once, recorded in the catalog.

    `elsewhere()`: stations of the run's other batches the catalog does not know yet (looked up only when this
    batch asks at all), asked in the same request, so a first load of many batches makes one series lookup, not one
    a batch."""
    unknown = []
    for m in members:
        if m.progress.time_series_id and m.progress.time_series.kind == kind:
            m.series = m.progress.time_series
        else:
            unknown.append(m)
    if not unknown:
        return
    primaries = {
        s.location_id: s
        for s in TimeSeries.objects.filter(
            location__in=[m.run_station.location for m in unknown], kind=kind, primary=True
        )
    }
    ask = []
    for m in unknown:
        m.series = primaries.get(m.run_station.location_id)
        if m.series is None and m.progress.no_series_at is None:  # USGS already said it has none: not asked again
            ask.append(m)
    if not ask:
        return
    locations = {m.run_station.location.monitoring_location_id: m.run_station.location for m in ask}
    locations.update((loc.monitoring_location_id, loc) for loc in elsewhere())
    listed = client.time_series_metadata(list(locations), kind=kind)
    by_site: dict[str, list] = defaultdict(list)
    for info in listed:
        by_site[info.monitoring_location_id or ""].append(info)
    chosen = {site: c for site in locations if (c := choose_primary(by_site.get(site, []))) is not None}
    if not chosen:
        return
    TimeSeries.objects.bulk_create(
        [
            TimeSeries(
                time_series_id=c.time_series_id,
                location=locations[site],
                kind=kind,
                parameter_code=c.parameter_code or "00060",
                statistic_id=c.statistic_id or ("00003" if kind == TimeSeries.Kind.DAILY else "00011"),
                primary=c.primary,
                begin=c.begin,
                end=c.end,
                unit=c.unit_of_measure or "ft^3/s",
            )
            for site, c in chosen.items()
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
        c = chosen.get(m.site)
        if c is not None:
            m.series = series[c.time_series_id]
    flag = "has_daily" if kind == TimeSeries.Kind.DAILY else "has_continuous"
    MonitoringLocation.objects.filter(pk__in=[locations[site].pk for site in chosen]).update(**{flag: True})


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

"""Fetching a batch: its members' series, the shared requests, every page staged as it arrives.

A batch asks once for all its members (DESIGN.md §4.5): one revision pass (`last_modified` since the earliest of the
members' last successes, minus the overlap) for the members that have one, then one window from the earliest
member boundary to the run's end. Each member keeps only its own rows from its own inclusive boundary on; rows of a
series nobody in the batch asked for are dropped with a warning. Nothing is stored here: rows go to the batch's
stage (acquisition.staging) and each member commits from it once every page has arrived.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from acquisition.models import PullRunStation
from acquisition.planning import Window
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
    window: Window | None = None
    staged: int = 0  # rows staged for it (its own, from its boundary on)
    attempt: int = 0  # the claim this commit must still own (fencing)
    extra: dict = field(default_factory=dict)

    @property
    def site(self) -> str:
        return self.run_station.location.monitoring_location_id


def discover_series(members: list[Member], kind: str, client: USGSClient) -> None:
    """Each member's series: the one its configuration pulled before, else the catalog's primary, else the primary
    one USGS lists in time-series-metadata — asked for all unknown members at once, recorded in the catalog."""
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
    listed = client.time_series_metadata([m.site for m in ask], kind=kind)
    by_site: dict[str, list] = defaultdict(list)
    for info in listed:
        by_site[info.monitoring_location_id or ""].append(info)
    flag = "has_daily" if kind == TimeSeries.Kind.DAILY else "has_continuous"
    found = []
    for m in ask:
        chosen = choose_primary(by_site.get(m.site, []))
        if chosen is None:
            continue
        m.series, _ = TimeSeries.objects.update_or_create(
            time_series_id=chosen.time_series_id,
            defaults={
                "location": m.run_station.location,
                "kind": kind,
                "parameter_code": chosen.parameter_code or "00060",
                "statistic_id": chosen.statistic_id or ("00003" if kind == TimeSeries.Kind.DAILY else "00011"),
                "primary": chosen.primary,
                "begin": chosen.begin,
                "end": chosen.end,
                "unit": chosen.unit_of_measure or "ft^3/s",
            },
        )
        found.append(m.run_station.location_id)
    if found:
        MonitoringLocation.objects.filter(pk__in=found).update(**{flag: True})


def count_windows(client: USGSClient, kind: str, plan: dict, now: dt.datetime) -> int:
    """How many request chains the batch makes (before any split of a too-long list): its progress bar's steps."""
    if kind == TimeSeries.Kind.DAILY:
        return 1 + (1 if plan["revisions_since"] else 0)
    main = len(client.continuous_windows(plan["start"], plan["end"] or now))
    rev = len(client.continuous_windows(plan["revisions_from"], now)) if plan["revisions_since"] else 0
    return main + rev


def batch_plan(members: list[Member]) -> dict:
    """The batch's requests: its earliest boundary, common end, and the revision pass of the members with one."""
    windows = [m.window for m in members]
    revising = [m for m in members if m.window.revisions_since]
    return {
        "start": min(w.start for w in windows),
        "end": windows[0].end,  # one run, one end: now, or the backfill's last day
        "revisions_since": min((m.window.revisions_since for m in revising), default=None),
        "revisions_from": min((m.window.revisions_from for m in revising if m.window.revisions_from), default=None),
        "revising": revising,
    }


def fetch(
    client: USGSClient, kind: str, members: list[Member], plan: dict, stage: BatchStage, events: BatchEvents, now
) -> None:
    """Every page of the batch's requests, staged member by member. Raises on the first request that fails."""
    by_series = {m.series.time_series_id: m for m in members}
    strangers = 0

    def take(readings: list, window_pass: bool) -> None:
        nonlocal strangers
        rows: dict[str, list] = defaultdict(list)
        for r in readings:
            m = by_series.get(r.time_series_id)
            if m is None:
                strangers += 1
                continue
            if window_pass and r.time < m.window.start:
                continue  # before this member's own boundary: another member's earlier window brought it
            rows[r.time_series_id].append(r)
        for ts, own in rows.items():
            m = by_series[ts]
            stage.add(m.series.pk, own)
            m.staged += len(own)

    end_text = when(plan["end"]) if plan["end"] else "now"
    daily = kind == TimeSeries.Kind.DAILY
    if plan["revising"]:
        ids = [m.series.time_series_id for m in plan["revising"]]
        label = f"revisions since {when(plan['revisions_since'])}"
        events.set_phase(label)
        if daily:
            pages = client.daily_pages(ids, start=None, last_modified_since=plan["revisions_since"])
        else:
            pages = client.continuous_pages(
                ids,
                start=plan["revisions_from"],
                end=now,
                last_modified_since=plan["revisions_since"],
                on_window=lambda *_: events.window_done(),
            )
        for readings in pages:
            take(readings, window_pass=False)
        if daily:
            events.window_done()
    ids = [m.series.time_series_id for m in members]
    events.set_phase(f"window {when(plan['start'])} → {end_text}")
    if daily:
        pages = client.daily_pages(ids, start=plan["start"], end=plan["end"])
    else:
        pages = client.continuous_pages(
            ids, start=plan["start"], end=plan["end"] or now, on_window=lambda *_: events.window_done()
        )
    for readings in pages:
        take(readings, window_pass=True)
    if daily:
        events.window_done()
    if strangers:
        events.say(
            f"{events.label}: {plural(strangers, 'row')} of series nobody in this batch asked for were dropped.",
            level=WARNING,
        )

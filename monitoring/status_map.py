"""The status maps: each station of some configurations, coloured as the dashboard counts it.

States, worst first; a station in several configurations shows its worst:
- failing: stale because our pulls fail (the dashboard's "behind because pulls fail");
- stale: a silent gage, our pulls succeed but USGS has nothing newer (the dashboard's "silent gages");
- new: in an active configuration but not pulled yet (staleness leaves these out: "not stale, just new");
- fresh: pulled, and its newest value is within STALE_DAILY_HOURS / STALE_CONTINUOUS_HOURS;
- paused: only in paused configurations (the dashboard's paused configurations).
Stale and failing come from staleness.stale_stations, the function the dashboard counts with, so the two agree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from pulls.models import PullConfiguration, PullConfigurationStation, StationProgress
from stations.models import MonitoringLocation

from .staleness import stale_stations


@dataclass(frozen=True)
class MapState:
    key: str
    label: str
    color: str  # the marker's fill and the legend's swatch


STATES = (
    MapState("failing", "Failing", "#dc3545"),
    MapState("stale", "Stale (silent gage)", "#ffc107"),
    MapState("new", "Not pulled yet", "#0dcaf0"),
    MapState("fresh", "Fresh", "#198754"),
    MapState("paused", "Paused", "#6c757d"),
)
_RANK = {state.key: rank for rank, state in enumerate(STATES)}


def station_states(configurations: QuerySet[PullConfiguration] | None = None, now: dt.datetime | None = None) -> dict:
    """Location pk → state key, over the stations of `configurations` (all configurations when None)."""
    configs = PullConfiguration.objects.all() if configurations is None else configurations
    memberships = PullConfigurationStation.objects.filter(configuration__in=configs).values_list(
        "location_id", "configuration_id", "configuration__enabled", "configuration__data_type"
    )
    tried = Q(last_success_at__isnull=False) | Q(consecutive_failures__gt=0)  # as staleness counts "tried"
    # (configuration, location) → failures in a row, for the rows that were ever tried.
    failures = {
        (config_id, location_id): n
        for config_id, location_id, n in StationProgress.objects.filter(tried, configuration__in=configs).values_list(
            "configuration_id", "location_id", "consecutive_failures"
        )
    }
    stale = {(s.location.pk, s.data_type): s for s in stale_stations(now)}
    states: dict[int, str] = {}
    for location_id, config_id, enabled, data_type in memberships:
        stale_here = stale.get((location_id, data_type))
        if not enabled:
            state = "paused"
        elif stale_here and config_id in stale_here.configuration_ids:
            state = "failing" if failures[(config_id, location_id)] > 0 else "stale"
        elif (config_id, location_id) in failures:
            state = "fresh"
        else:
            state = "new"
        states[location_id] = min(states.get(location_id, state), state, key=_RANK.__getitem__)
    return states


def status_points(configurations: QuerySet[PullConfiguration] | None = None, now: dt.datetime | None = None) -> dict:
    """The status map's data: the states (for the legend, with counts), one row per placed station
    [id, name, lat, lon, state], and how many stations have no coordinates."""
    states = station_states(configurations, now)
    rows = (
        MonitoringLocation.objects.filter(pk__in=list(states))
        .order_by("monitoring_location_id")
        .values_list("pk", "monitoring_location_id", "name", "latitude", "longitude")
    )
    points, unplaced = [], 0
    for pk, location_id, name, lat, lon in rows:
        if lat is None or lon is None:
            unplaced += 1
        else:
            points.append([location_id, name, round(lat, 5), round(lon, 5), states[pk]])
    counts = {state.key: 0 for state in STATES}
    for state in states.values():
        counts[state] += 1
    return {
        "states": [{"key": s.key, "label": s.label, "color": s.color, "count": counts[s.key]} for s in STATES],
        "points": points,
        "total": len(states),
        "unplaced": unplaced,
    }

"""The configuration page's station table: this configuration's progress beside what the shared series holds."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count

from stations import parameters
from stations.models import MonitoringLocation, TimeSeries

from .models import PullConfiguration, StationProgress


@dataclass
class StationRow:
    progress: StationProgress | None
    location: MonitoringLocation
    series: TimeSeries | None
    values_stored: int


def station_rows(config: PullConfiguration, locations: list | None = None) -> list[StationRow]:
    """Per station (`locations`, a page of them; all, in the order they were added, by default): this configuration's
    progress, and how many values the shared series holds (other configurations may have stored them, so values
    can exist before this one's first run)."""
    if locations is None:
        locations = [m.location for m in config.memberships.select_related("location")]
    # One row a station: its first parameter's usual series (discharge, as a rule); the station page lists the rest.
    first = config.parameter_codes[0]
    progress = {
        p.location_id: p
        for p in StationProgress.objects.filter(
            configuration=config, location__in=locations, parameter_code=first, statistic_id=""
        ).select_related("configuration")
    }
    series_ids = [p.time_series_id for p in progress.values() if p.time_series_id]
    series_by_location = {
        s.location_id: s for s in TimeSeries.objects.filter(pk__in=series_ids).order_by("location_id", "-primary")
    }
    # A station without progress yet: show its primary series of the configuration's kind, if any.
    candidates = TimeSeries.objects.filter(
        location__in=[loc for loc in locations if loc.pk not in series_by_location],
        kind=config.series_kind,
        parameter_code=first,
    )
    if config.is_daily:  # its usual daily statistic (a temperature's mean, not its maximum)
        candidates = candidates.filter(statistic_id__in=[parameters.resolve_statistic(first, "", daily=True), ""])
    for s in candidates.order_by("location_id", "-primary"):
        series_by_location.setdefault(s.location_id, s)
    # Counted through the reverse relation (acquisition's observation tables), one grouped query.
    relation = "daily_values" if config.data_type == PullConfiguration.DataType.DAILY_MEAN else "continuous_values"
    counts = dict(
        TimeSeries.objects.filter(pk__in=[s.pk for s in series_by_location.values()])
        .annotate(n=Count(relation))
        .values_list("pk", "n")
    )
    rows = []
    for loc in locations:
        series = series_by_location.get(loc.pk)
        rows.append(StationRow(progress.get(loc.pk), loc, series, counts.get(series.pk, 0) if series else 0))
    return rows

"""Which stations are stale: their newest stored value is older than STALE_DAILY_HOURS / STALE_CONTINUOUS_HOURS.

A stale station is one of two things, and the dashboard and the alerts keep them apart:
- a *silent gage*: our pulls succeed, USGS simply has nothing newer (the gage or its telemetry is down);
- a *failing pull*: our pulls for it fail, so we are behind whatever USGS has.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from pulls.models import PullConfiguration, StationProgress
from stations.models import MonitoringLocation


@dataclass(frozen=True)
class StaleStation:
    location: MonitoringLocation
    data_type: str  # PullConfiguration.DataType
    newest: dt.date | dt.datetime | None
    failing: bool  # True: our pulls fail; False: a silent gage
    last_error: str
    configuration_ids: tuple[int, ...]

    @property
    def key(self) -> str:
        return f"stale:{self.location.pk}:{self.data_type}"

    @property
    def data_type_label(self) -> str:
        return PullConfiguration.DataType(self.data_type).label


def cutoffs(now: dt.datetime | None = None) -> tuple[dt.date, dt.datetime]:
    now = now or timezone.now()
    daily = (now - dt.timedelta(hours=settings.STALE_DAILY_HOURS)).date()
    continuous = now - dt.timedelta(hours=settings.STALE_CONTINUOUS_HOURS)
    return daily, continuous


def stale_stations(now: dt.datetime | None = None) -> list[StaleStation]:
    """Stale (station, data type) pairs over enabled configurations, one entry even if several configurations
    share the station. A station never pulled successfully and never tried is not stale, just new."""
    daily_cutoff, continuous_cutoff = cutoffs(now)
    daily = PullConfiguration.DataType.DAILY_MEAN
    continuous = PullConfiguration.DataType.CONTINUOUS
    old = Q(configuration__data_type=daily) & (Q(newest_date__lt=daily_cutoff) | Q(newest_date__isnull=True))
    old |= Q(configuration__data_type=continuous) & (Q(newest_time__lt=continuous_cutoff) | Q(newest_time__isnull=True))
    tried = Q(last_success_at__isnull=False) | Q(consecutive_failures__gt=0)
    rows = (
        StationProgress.objects.filter(configuration__enabled=True)
        .filter(old & tried)
        .select_related("location", "configuration")
        .order_by("location__monitoring_location_id", "pk")
    )
    grouped: dict[tuple[int, str], list[StationProgress]] = {}
    for row in rows:
        grouped.setdefault((row.location_id, row.configuration.data_type), []).append(row)

    result = []
    for (_, data_type), progresses in grouped.items():
        newest_values = [p.newest for p in progresses if p.newest is not None]
        # Failing if any configuration holding the station cannot pull it right now.
        failing = any(p.consecutive_failures > 0 for p in progresses)
        errors = [p.last_error for p in progresses if p.consecutive_failures > 0 and p.last_error]
        result.append(
            StaleStation(
                location=progresses[0].location,
                data_type=data_type,
                newest=max(newest_values) if newest_values else None,
                failing=failing,
                last_error=errors[0] if errors else "",
                configuration_ids=tuple(sorted({p.configuration_id for p in progresses})),
            )
        )
    return result

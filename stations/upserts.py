"""Writing imported stations and their series: an upsert keyed on monitoring_location_id / time_series_id.

Rows are compared with what is stored so a re-import reports "unchanged" instead of rewriting, and written with
bulk_create / bulk_update per batch (a few queries per thousand rows, not one per row).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from .models import MonitoringLocation, TimeSeries
from .names import search_name

BATCH_SIZE = 1000


@dataclass
class UpsertCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    created_ids: list[str] = field(default_factory=list, repr=False)

    def add(self, other: UpsertCounts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.created_ids += other.created_ids

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


def _batches(rows: Iterable[dict], size: int) -> Iterable[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _upsert_batch(rows: list[dict]) -> UpsertCounts:
    counts = UpsertCounts()
    existing = MonitoringLocation.objects.in_bulk(
        [r["monitoring_location_id"] for r in rows], field_name="monitoring_location_id"
    )
    to_create: list[MonitoringLocation] = []
    to_update: list[MonitoringLocation] = []
    changed_fields: set[str] = set()
    for row in rows:
        if "name" in row:  # bulk_create / bulk_update skip save(), which keeps search_name in step
            row = {**row, "search_name": search_name(row["name"])}
        location = existing.get(row["monitoring_location_id"])
        if location is None:
            to_create.append(MonitoringLocation(**row))
            continue
        changed = {name for name, value in row.items() if getattr(location, name) != value}
        if changed:
            for name in changed:
                setattr(location, name, row[name])
            changed_fields |= changed
            to_update.append(location)
        else:
            counts.unchanged += 1
    if to_create:
        MonitoringLocation.objects.bulk_create(to_create, batch_size=BATCH_SIZE)
        counts.created = len(to_create)
        counts.created_ids = [loc.monitoring_location_id for loc in to_create]
    if to_update:
        # bulk_update skips auto_now; set it so "updated_at" tells the truth.
        now = timezone.now()
        for location in to_update:
            location.updated_at = now
        MonitoringLocation.objects.bulk_update(to_update, [*sorted(changed_fields), "updated_at"], batch_size=500)
        counts.updated = len(to_update)
    return counts


def upsert_locations(
    rows: Iterable[dict],
    batch_size: int = BATCH_SIZE,
    progress: Callable[[UpsertCounts], None] | None = None,
) -> UpsertCounts:
    """Create or update locations from rows (dicts of field values). Each batch commits on its own."""
    total = UpsertCounts()
    for batch in _batches(rows, batch_size):
        with transaction.atomic():
            total.add(_upsert_batch(batch))
        if progress:
            progress(total)
    return total


def upsert_series(series: Iterable[dict]) -> UpsertCounts:
    """Create or update time series, then refresh has_daily / has_continuous of the locations involved.

    Each dict: monitoring_location_id, time_series_id, kind ("daily" / "continuous"), parameter_code (default
    discharge), statistic_id, primary,
    begin, end (datetimes or None), unit. Series of unknown locations are skipped (the caller imports those first).
    """
    rows = list(series)
    counts = UpsertCounts()
    if not rows:
        return counts
    locations = MonitoringLocation.objects.in_bulk(
        {r["monitoring_location_id"] for r in rows}, field_name="monitoring_location_id"
    )
    with transaction.atomic():
        existing = TimeSeries.objects.in_bulk([r["time_series_id"] for r in rows], field_name="time_series_id")
        to_create, to_update = [], []
        fields = ["location", "kind", "parameter_code", "statistic_id", "primary", "begin", "end", "unit"]
        for row in rows:
            location = locations.get(row["monitoring_location_id"])
            if location is None:
                continue
            values = {
                "location": location,
                "kind": row["kind"],
                "parameter_code": row.get("parameter_code") or "00060",
                "statistic_id": row.get("statistic_id") or "",
                "primary": bool(row.get("primary")),
                "begin": row.get("begin"),
                "end": row.get("end"),
                "unit": row.get("unit") or "ft^3/s",
            }
            current = existing.get(row["time_series_id"])
            if current is None:
                to_create.append(TimeSeries(time_series_id=row["time_series_id"], **values))
            elif any(getattr(current, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(current, name, value)
                current.updated_at = timezone.now()
                to_update.append(current)
            else:
                counts.unchanged += 1
        TimeSeries.objects.bulk_create(to_create, batch_size=BATCH_SIZE)
        TimeSeries.objects.bulk_update(to_update, [*fields, "updated_at"], batch_size=500)
        counts.created, counts.updated = len(to_create), len(to_update)
        refresh_series_flags(MonitoringLocation.objects.filter(pk__in=[loc.pk for loc in locations.values()]))
    return counts


def refresh_series_flags(locations) -> None:
    """Recompute the denormalised has_daily / has_continuous from the series rows. Only the rows whose flags change
    are written, with updated_at, so the map's cache (keyed on the newest updated_at) sees the change at once."""
    from django.db.models import Exists, F, OuterRef

    def has(kind: str) -> Exists:
        # The flags are about discharge (the search's "has daily / continuous" filters); other parameters are
        # filtered through their series rows (stations.search).
        return Exists(TimeSeries.objects.filter(location=OuterRef("pk"), kind=kind, parameter_code="00060"))

    daily, continuous = has(TimeSeries.Kind.DAILY), has(TimeSeries.Kind.CONTINUOUS)
    changed = locations.annotate(daily=daily, continuous=continuous).exclude(
        has_daily=F("daily"), has_continuous=F("continuous")
    )
    MonitoringLocation.objects.filter(pk__in=changed.values("pk")).update(
        has_daily=daily, has_continuous=continuous, updated_at=timezone.now()
    )

"""Fetch the day-of-year normals (USGS Statistics API) and USGS's revision notes now (acquisition/normals.py)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from acquisition import normals
from acquisition.usgs import USGSError
from stations.models import MonitoringLocation


class Command(BaseCommand):
    help = (
        "Refresh the day-of-year normals and revision notes: of --station ID … (every daily series of them), of "
        "every mirrored daily series (--all), or of those older than NORMALS_REFRESH_DAYS (the default, as beat does)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--station", action="append", default=[], help="A monitoring location id (repeatable).")
        parser.add_argument("--all", action="store_true", help="Every mirrored daily series, however fresh.")

    def handle(self, *args, station=(), all=False, **options):  # noqa: A002 - the option's name
        try:
            if station:
                found = list(MonitoringLocation.objects.filter(monitoring_location_id__in=station))
                missing = sorted(set(station) - {loc.monitoring_location_id for loc in found})
                if missing:
                    raise CommandError(f"Unknown station(s): {', '.join(missing)}. Nothing was fetched.")
                result = normals.refresh_locations(found)
            elif all:
                series = normals.mirrored_daily_series()
                result = normals.refresh_normals(series)
                result.notes, requests = normals.refresh_revision_notes({s.location for s in series})
                result.requests += requests
            else:
                result = normals.refresh_due()
        except USGSError as exc:
            raise CommandError(f"USGS failed: {exc}") from exc
        self.stdout.write(f"Normals refreshed: {result}.")

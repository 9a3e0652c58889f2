"""Prepare the demo (`make demo`): a sample catalog from the local fake USGS server and three short-schedule pulls
(daily discharge, continuous discharge, and discharge + stage + water temperature of the stations that have them).

Idempotent: run it again and it updates the same two configurations. It starts a temporary in-process fake
server for the catalog import when none answers at USGS_API_URL; `make demo` then supervises the long-running one.
"""

from __future__ import annotations

import datetime as dt
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import BaseCommand, CommandError, call_command
from django.db import transaction
from django.utils import timezone

from pulls.models import PullConfiguration, PullConfigurationStation
from stations.models import MonitoringLocation, TimeSeries

DAILY_NAME = "Demo: Maryland daily means"
CONTINUOUS_NAME = "Demo: Maryland 5/15-minute"
PARAMETERS_NAME = "Demo: Maryland stage and water temperature"
DEMO_PARAMETERS = ["00060", "00065", "00010"]  # discharge, gage height, water temperature (daily mean, max, min)


class Command(BaseCommand):
    help = "Import a sample catalog from the fake USGS server and create three demo configurations on short schedules."

    def add_arguments(self, parser):
        parser.add_argument("--state", default="MD", help="State to import from the fake catalog (default MD).")
        parser.add_argument("--stations", type=int, default=5, help="Stations per configuration (default 5).")
        parser.add_argument(
            "--no-first-run", action="store_true", help="Do not queue a first run of each configuration."
        )

    def handle(self, *args, state: str, stations: int, no_first_run: bool, **options):
        base = settings.USGS_API_URL
        if "api.waterdata.usgs.gov" in base:
            raise CommandError(
                "USGS_API_URL points at the real USGS API. The demo uses the local fake: run `make demo`, or set "
                "USGS_API_URL=http://127.0.0.1:8765/ogcapi/v1 first."
            )
        fake = None
        if not _answers(base):
            fake = self._start_temporary_fake(base)
        try:
            self.stdout.write(f"Importing {state} stations and their discharge, stage and temperature series: {base} …")
            call_command(
                "import_stations",
                state=state,
                with_series=True,
                parameters=",".join(DEMO_PARAMETERS),
                stdout=self.stdout,
                stderr=self.stderr,
            )
        finally:
            if fake is not None:
                fake.stop()

        daily_sites = _locations_with(TimeSeries.Kind.DAILY, state, stations)
        continuous_sites = _locations_with(TimeSeries.Kind.CONTINUOUS, state, stations)
        if not daily_sites or not continuous_sites:
            raise CommandError(f"The catalog import found no {state} stations with discharge series; nothing to pull.")
        today = timezone.localdate()
        daily = _configuration(
            DAILY_NAME,
            data_type=PullConfiguration.DataType.DAILY_MEAN,
            start_date=today - dt.timedelta(days=3 * 365),
            cron="1-59/2 * * * *",  # odd minutes
            description="Demo: daily mean discharge, appended every two minutes from the local fake USGS server.",
            locations=daily_sites,
        )
        continuous = _configuration(
            CONTINUOUS_NAME,
            data_type=PullConfiguration.DataType.CONTINUOUS,
            start_date=today - dt.timedelta(days=60),
            cron="*/2 * * * *",  # even minutes
            description="Demo: 5/15-minute discharge, appended every two minutes from the local fake USGS server.",
            locations=continuous_sites,
        )
        configs = [daily, continuous]
        stage_sites = _locations_with(TimeSeries.Kind.DAILY, state, stations, parameter="00065")
        if stage_sites:  # the fake's Maryland has a few (tests/fakeusgs/data.py); a bare catalog may have none
            configs.append(
                _configuration(
                    PARAMETERS_NAME,
                    data_type=PullConfiguration.DataType.DAILY_MEAN,
                    start_date=today - dt.timedelta(days=365),
                    cron="3-59/5 * * * *",
                    description="Demo: discharge, gage height and water temperature (daily mean, maximum, "
                    "minimum) of the stations that have them, every five minutes from the local fake USGS server.",
                    locations=stage_sites,
                    parameters=DEMO_PARAMETERS,
                )
            )
        for config in configs:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Configuration “{config.name}”: {config.stations.count()} stations, "
                    f"cron “{config.cron_expression}” ({config.timezone})."
                )  # fmt: skip
            )
        if not no_first_run:
            self._queue_first_runs(configs)

    def _start_temporary_fake(self, base: str):
        from tests.fakeusgs import FakeUSGS

        parts = urlsplit(base)
        if parts.hostname not in ("127.0.0.1", "localhost"):
            raise CommandError(f"Nothing answers at {base}. Start the fake USGS server (python -m tests.fakeusgs).")
        fake = FakeUSGS(today=dt.date.today())
        fake.start(port=parts.port or 80, host=parts.hostname)
        self.stdout.write(f"Started a temporary fake USGS server at {base} for the import.")
        return fake

    def _queue_first_runs(self, configs: list[PullConfiguration]) -> None:
        from acquisition.tasks import run_configuration

        for config in configs:
            # A few seconds' delay: the worker and the fake server start right after this command.
            run_configuration.apply_async(
                args=[config.pk], kwargs={"trigger": "manual", "triggered_by": "make demo"}, countdown=5
            )
        self.stdout.write("Queued a first run of each; open Runs once the worker is up.")


def _answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/", timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # something answers, even if not at the root
    except OSError:
        return False


# Well-known Potomac gages first, so the demo shows familiar names; then the rest of the state.
FEATURED = ["USGS-01646500", "USGS-01638500", "USGS-01594440"]


def _locations_with(kind: str, state: str, limit: int, parameter: str = "00060") -> list[MonitoringLocation]:
    candidates = list(
        MonitoringLocation.objects.filter(state_code=state, series__kind=kind, series__parameter_code=parameter)
        .distinct()
        .order_by("monitoring_location_id")
    )
    candidates.sort(key=lambda loc: (loc.monitoring_location_id not in FEATURED, loc.monitoring_location_id))
    return candidates[:limit]


@transaction.atomic
def _configuration(
    name: str, *, data_type, start_date, cron, description, locations, parameters=("00060",)
) -> PullConfiguration:
    config = PullConfiguration.objects.filter(name=name).first() or PullConfiguration(name=name)
    config.data_type = data_type
    config.parameters = list(parameters)
    config.strategy = PullConfiguration.Strategy.APPEND
    config.start_date = start_date
    config.schedule_type = PullConfiguration.ScheduleType.CUSTOM
    config.cron_expression = cron
    config.timezone = settings.TIME_ZONE
    config.description = description
    config.enabled = True
    config.auto_disabled_reason = ""
    config.save()  # post_save keeps its beat task in sync
    for location in locations:
        PullConfigurationStation.objects.get_or_create(configuration=config, location=location)
    return config

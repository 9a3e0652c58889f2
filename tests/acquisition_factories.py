"""Helpers for acquisition tests: configurations of the fake USGS server's stations, and waiting for runs."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterable

from acquisition.models import PullRun
from pulls.models import PullConfiguration, PullConfigurationStation
from stations.models import MonitoringLocation
from tests.fakeusgs import FakeUSGS

FAST_QUOTA = 1_000_000  # requests/hour: the shared limiter never makes a test wait


def make_configuration(
    fake: FakeUSGS,
    sites: Iterable[str],
    *,
    start_date: dt.date = dt.date(2026, 1, 1),
    data_type: str = PullConfiguration.DataType.DAILY_MEAN,
    strategy: str = PullConfiguration.Strategy.APPEND,
    name: str | None = None,
    parameters: list[str] | None = None,
) -> PullConfiguration:
    """A configuration of the fake's stations `sites` (catalog rows created from the fake's own data), pulling
    `parameters` (discharge by default)."""
    config = PullConfiguration.objects.create(
        name=name or f"Test pull {uuid.uuid4().hex[:8]}",
        parameters=parameters or ["00060"],
        data_type=data_type,
        strategy=strategy,
        start_date=start_date,
        timezone="UTC",
    )
    for site in sites:
        st = fake.by_id[site]
        location, _ = MonitoringLocation.objects.get_or_create(
            monitoring_location_id=site,
            defaults={
                "agency_code": st.agency_code,
                "site_number": st.site_number,
                "name": st.name,
                "tz_abbreviation": st.time_zone_abbreviation,
            },
        )
        PullConfigurationStation.objects.create(configuration=config, location=location)
    return config


def wait_for_run(config: PullConfiguration, *, after: int = 0, timeout: float = 60.0) -> PullRun:
    """The first finished, non-skipped run of `config` with pk > `after`, polling the database."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = (
            PullRun.objects.finished()
            .filter(configuration=config, pk__gt=after)
            .exclude(status=PullRun.Status.SKIPPED)
            .order_by("pk")
            .first()
        )
        if run is not None:
            return run
        time.sleep(0.2)
    raise AssertionError(f"no run of {config} finished within {timeout:.0f} s: {list(PullRun.objects.values())}")

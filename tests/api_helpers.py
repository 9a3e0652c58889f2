"""Helpers for the API tests: a token's Authorization header, and a small catalog with runs."""

from __future__ import annotations

import datetime as dt

from acquisition.models import DailyValue, PullLogEntry, PullRun, PullRunBatch
from streamflow.models import ApiToken
from tests.factories import (
    MonitoringLocationFactory,
    PullConfigurationFactory,
    PullRunFactory,
    PullRunStationFactory,
    TimeSeriesFactory,
)


def bearer(user, name: str = "test") -> dict:
    """The headers of a request made with a new token of `user`."""
    _, plaintext = ApiToken.issue(user, name)
    return {"Authorization": f"Bearer {plaintext}"}


def make_catalog() -> dict:
    """Three stations (two in MD, one in VA), a daily series with values, a configuration and a finished run."""
    potomac = MonitoringLocationFactory(
        site_number="01646500",
        name="POTOMAC RIVER NEAR WASH, DC",
        state_code="MD",
        huc="02070008",
        latitude=38.95,
        longitude=-77.13,
        has_daily=True,
    )
    seneca = MonitoringLocationFactory(
        site_number="01645000",
        name="SENECA CREEK AT DAWSONVILLE, MD",
        state_code="MD",
        huc="02070008",
        latitude=39.13,
        longitude=-77.34,
        has_daily=True,
    )
    shenandoah = MonitoringLocationFactory(
        site_number="01636500",
        name="SHENANDOAH RIVER AT MILLVILLE, WV",
        state_code="VA",
        huc="02070007",
        latitude=39.28,
        longitude=-77.79,
    )
    series = TimeSeriesFactory(location=potomac, time_series_id="a" * 32)
    # Known to the catalog, continuous only: the configuration form flags it for a daily configuration.
    shenandoah.has_continuous = True
    shenandoah.save()
    TimeSeriesFactory(location=shenandoah, kind="continuous", time_series_id="c" * 32)
    DailyValue.objects.bulk_create(
        DailyValue(
            series=series,
            date=dt.date(2026, 1, 1) + dt.timedelta(days=i),
            value=100.0 + i,
            approval_status="Provisional",
            qualifiers=["e"] if i == 2 else [],
        )
        for i in range(5)
    )
    config = PullConfigurationFactory(name="Potomac daily")
    config.add_stations([potomac.pk, seneca.pk])
    run = PullRunFactory(configuration=config, status=PullRun.Status.SUCCEEDED, stations_total=2)
    batch = PullRunBatch.objects.create(run=run, number=1, stations=2)
    PullRunStationFactory(run=run, location=potomac, batch=batch, time_series=series, status="succeeded")
    PullRunStationFactory(run=run, location=seneca, batch=batch, status="succeeded")
    lines = [
        PullLogEntry.objects.create(run=run, message=f"line {i}", location=potomac if i else None) for i in range(3)
    ]
    return {
        "potomac": potomac,
        "seneca": seneca,
        "shenandoah": shenandoah,
        "series": series,
        "config": config,
        "run": run,
        "lines": lines,
    }


def close_streaming(response) -> None:
    """Close a streaming test response mid-stream, as a client hanging up would, without the test client's
    request_finished handler closing the database connection (inside a test's transaction that would end it on
    PostgreSQL: every later query fails with "the connection is closed")."""
    from django.core.signals import request_finished
    from django.db import close_old_connections

    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)

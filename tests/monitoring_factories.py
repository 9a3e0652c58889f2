"""Helpers for the monitoring tests: runs with stations and logs, stored observations."""

from __future__ import annotations

import datetime as dt

from acquisition.models import ApprovalStatus, ContinuousValue, DailyValue, PullLogEntry, PullRun
from stations.models import TimeSeries
from tests.factories import MonitoringLocationFactory, PullRunFactory, PullRunStationFactory, TimeSeriesFactory


def running_run(stations: int = 2, **kwargs) -> PullRun:
    run = PullRunFactory(status=PullRun.Status.RUNNING, stations_total=stations, **kwargs)
    for _ in range(stations):
        PullRunStationFactory(run=run, windows_total=4, windows_done=1, progress=25, status="running")
    return run


def add_log_lines(run: PullRun, count: int, level: int = PullLogEntry.Level.INFO, location=None, prefix="line"):
    PullLogEntry.objects.bulk_create(
        [PullLogEntry(run=run, level=level, location=location, message=f"{prefix} {i}") for i in range(count)],
        batch_size=2000,
    )


def daily_series_with_values(days: int, start: dt.date = dt.date(2020, 1, 1), provisional_from: int | None = None):
    series = TimeSeriesFactory(kind=TimeSeries.Kind.DAILY, location=MonitoringLocationFactory())
    rows = []
    for i in range(days):
        status = ApprovalStatus.PROVISIONAL if provisional_from is not None and i >= provisional_from else "Approved"
        value = None if i % 97 == 50 else round(100 + 50 * ((i * 7919) % 113) / 113 + i / 3, 2)
        rows.append(
            DailyValue(
                series=series,
                date=start + dt.timedelta(days=i),
                value=value,
                qualifiers=["e"] if i % 11 == 0 else [],
                approval_status=status,
            )
        )
    DailyValue.objects.bulk_create(rows, batch_size=5000)
    return series


def continuous_series_with_values(
    count: int,
    start: dt.datetime = dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    step_minutes: int = 5,
    provisional_from: int | None = None,
):
    series = TimeSeriesFactory(kind=TimeSeries.Kind.CONTINUOUS, location=MonitoringLocationFactory())
    rows = []
    for i in range(count):
        status = ApprovalStatus.PROVISIONAL if provisional_from is not None and i >= provisional_from else "Approved"
        rows.append(
            ContinuousValue(
                series=series,
                time=start + dt.timedelta(minutes=step_minutes * i),
                value=200 + (i % 288) * 0.5 + (i // 288) % 17,
                approval_status=status,
            )
        )
    ContinuousValue.objects.bulk_create(rows, batch_size=5000)
    return series

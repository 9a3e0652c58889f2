"""The client's continuous pulls against the fake: windows of at most 1000 days, each fully paged, nothing lost."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from acquisition.usgs import MAX_CONTINUOUS_WINDOW_DAYS, USGSClient
from tests.fakeusgs import FakeStation, FakeUSGS

TODAY = date(2026, 11, 20)
SITE = "USGS-01000001"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def station(continuous_begin: date, interval: int = 15) -> FakeStation:
    return FakeStation(SITE, "TEST RIVER AT GAGE, MD", daily_begin=None, continuous_begin=continuous_begin,
                       continuous_interval=interval)  # fmt: skip


def as_rows(readings) -> list[dict]:
    return [
        {"time_series_id": r.time_series_id, "time": r.time, "value": r.value, "qualifiers": r.qualifiers,
         "approval_status": r.approval_status, "last_modified": r.last_modified}
        for r in readings
    ]  # fmt: skip


def envelope(record) -> timedelta:
    start, _, end = record.params["time"].partition("/")
    return datetime.fromisoformat(end) - datetime.fromisoformat(start)


def test_the_window_size_stays_under_the_api_cap():
    assert MAX_CONTINUOUS_WINDOW_DAYS == USGSClient.MAX_CONTINUOUS_WINDOW_DAYS == 1000


def test_windows_cover_the_range_without_gaps_and_each_is_at_most_1000_days():
    start, end = utc(2022, 11, 20), utc(2026, 11, 20, 23, 55)
    windows = USGSClient.continuous_windows(start, end)
    assert len(windows) == 2
    assert windows[0][0] == start and windows[-1][1] == end
    assert all(b - a <= timedelta(days=1000) for a, b in windows)
    assert all(windows[i][1] == windows[i + 1][0] for i in range(len(windows) - 1))  # shared, inclusive boundaries


def test_windows_of_short_empty_and_reversed_ranges():
    assert USGSClient.continuous_windows(utc(2026, 1, 1), utc(2026, 1, 2)) == [(utc(2026, 1, 1), utc(2026, 1, 2))]
    assert USGSClient.continuous_windows(utc(2026, 1, 1), utc(2026, 1, 1)) == [(utc(2026, 1, 1), utc(2026, 1, 1))]
    assert USGSClient.continuous_windows(utc(2026, 1, 2), utc(2026, 1, 1)) == []
    with pytest.raises(ValueError):
        USGSClient.continuous_windows(datetime(2026, 1, 1), utc(2026, 1, 2))


def test_a_four_year_range_is_pulled_in_windows_without_a_400():
    with FakeUSGS([station(TODAY - timedelta(days=20))], today=TODAY) as fake:
        client = USGSClient(fake.base_url, "KEY", limit=500)
        done = []
        start, end = utc(2022, 11, 1), utc(2026, 11, 20, 23, 59)
        readings = client.continuous(monitoring_location_id=SITE, start=start, end=end,
                                     on_window=lambda *w: done.append(w))  # fmt: skip
        assert [r.status for r in fake.requests] and all(r.status == 200 for r in fake.requests)
        assert all(envelope(r) <= timedelta(days=1000) for r in fake.requests)
        assert [(i, n) for i, n, _, _ in done] == [(1, 2), (2, 2)]
        assert done[0][2] == start and done[-1][3] == end
        assert as_rows(readings) == fake.expected_continuous(SITE, start, end)
        assert len(readings) == 21 * 96
        windows_asked = [r.params["time"] for r in fake.requests]
        assert windows_asked == sorted(windows_asked)  # each window fully paged before the next starts


def test_a_window_boundary_inside_the_data_loses_and_doubles_nothing():
    with FakeUSGS([station(TODAY - timedelta(days=10), interval=5)], today=TODAY) as fake:
        client = USGSClient(fake.base_url, limit=1000)
        boundary = utc(2026, 11, 15, 12, 0)  # a 5-minute instant both windows include
        start = boundary - timedelta(days=1000)
        end = utc(2026, 11, 20, 23, 55)
        readings = client.continuous(monitoring_location_id=SITE, start=start, end=end)
        assert [r.params["time"].split("/")[1] for r in fake.requests][0] == "2026-11-15T12:00:00Z"
        assert as_rows(readings) == fake.expected_continuous(SITE, start, end)
        times = [r.time for r in readings]
        assert times.count(boundary) == 1
        assert all(b - a == timedelta(minutes=5) for a, b in zip(times, times[1:], strict=False))


def test_the_end_defaults_to_the_clock():
    with FakeUSGS([station(TODAY - timedelta(days=3))], today=TODAY) as fake:
        client = USGSClient(fake.base_url, clock=lambda: utc(2026, 11, 21))
        readings = client.continuous(time_series_id=fake.primary_series_id(SITE, "continuous"),
                                     start=utc(2026, 11, 19))  # fmt: skip
        assert fake.requests[0].params["time"] == "2026-11-19T00:00:00Z/2026-11-21T00:00:00Z"
        assert "statistic_id" not in fake.requests[0].params  # the series id names it; batches ask by id alone
        assert len(readings) == 2 * 96
        assert readings[0].time == utc(2026, 11, 19) and readings[-1].time == utc(2026, 11, 20, 23, 45)


def test_continuous_revisions_are_swept_by_last_modified():
    with FakeUSGS([station(date(2024, 1, 1))], today=TODAY) as fake:
        revised_at = utc(2024, 6, 1, 10, 15)
        fake.revise(SITE, revised_at, 123.0, kind="continuous", last_modified=utc(2026, 11, 21, 9))
        client = USGSClient(fake.base_url)
        readings = client.continuous(monitoring_location_id=SITE, start=utc(2024, 1, 1), end=utc(2026, 11, 21),
                                     last_modified_since=utc(2026, 11, 21))  # fmt: skip
        assert [(r.time, r.value) for r in readings] == [(revised_at, 123.0)]
        assert all(r.params["last_modified"] == "2026-11-21T00:00:00Z/.." for r in fake.requests)

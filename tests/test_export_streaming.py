"""CSV exports under load (issue 12, item 6): streamed in chunks, COPY on PostgreSQL, and capped per user.

Three parallel exports by one Viewer once starved every web worker. Now a user holds at most EXPORTS_PER_USER
exports at once (a lock shared by all web processes: PostgreSQL advisory locks, file locks elsewhere); one more is a
429 page that says to try again when a running export finishes. The slot is freed when the response is closed,
whether it was read to the end or not.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import tracemalloc

import pytest
from django.urls import reverse

from acquisition.models import ContinuousValue, DailyValue
from monitoring import export, export_limits
from stations.models import MonitoringLocation, TimeSeries
from tests.api_helpers import close_streaming
from tests.factories import MonitoringLocationFactory, TimeSeriesFactory, UserFactory
from tests.monitoring_factories import continuous_series_with_values, daily_series_with_values

pytestmark = pytest.mark.django_db


def _url(series) -> str:
    return reverse("monitoring:station_data_csv", args=[series.location.monitoring_location_id])


@pytest.fixture
def limit(settings):
    settings.EXPORTS_PER_USER = 2
    return 2


@pytest.fixture
def opened():
    """Responses to close at the end of the test."""
    responses = []
    yield responses
    for response in responses:
        close_streaming(response)


def test_a_third_concurrent_export_by_one_user_is_a_429_that_says_what_to_do(viewer_client, limit, opened):
    series = daily_series_with_values(50)
    first, second = viewer_client.get(_url(series)), viewer_client.get(_url(series))
    opened += [first, second]
    assert (first.status_code, second.status_code) == (200, 200)

    third = viewer_client.get(_url(series))

    assert third.status_code == 429
    assert int(third["Retry-After"]) > 0
    body = third.content.decode()
    assert "<html" in body
    assert "already running 2 exports" in body and "try again when one of them finishes" in body
    close_streaming(first)  # the export was sent (or its reader went away): its slot is free
    again = viewer_client.get(_url(series))
    opened.append(again)
    assert again.status_code == 200


def test_the_limit_is_per_user(viewer_client, client, limit, viewer, opened):
    series = daily_series_with_values(10)
    opened += [viewer_client.get(_url(series)) for _ in range(limit)]
    other = UserFactory(username="walter-viewer")
    other.groups.set(viewer.groups.all())
    client.force_login(other)
    response = client.get(_url(series))
    opened.append(response)
    assert response.status_code == 200


def test_a_slot_is_freed_by_reading_the_export_to_the_end(viewer_client, limit):
    series = daily_series_with_values(10)
    for _ in range(limit + 2):
        response = viewer_client.get(_url(series))
        assert response.status_code == 200
        b"".join(response.streaming_content)  # read to the end: the client closes it, as a server would


def test_slots_are_locks_another_process_would_see(limit):
    # Two acquisitions of one user's slots in one process contend exactly as two gunicorn workers would.
    user = UserFactory()
    held = [export_limits.acquire(user.pk, limit) for _ in range(limit)]
    assert all(held)
    assert export_limits.acquire(user.pk, limit) is None
    held[0].release()
    held[0].release()  # idempotent
    again = export_limits.acquire(user.pk, limit)
    assert again is not None
    for slot in (held[1], again):
        slot.release()


def test_an_export_streams_in_chunks_with_flat_memory(viewer_client):
    series = continuous_series_with_values(60_000)
    MonitoringLocation.objects.filter(pk=series.location_id).update(tz_abbreviation="")
    response = viewer_client.get(_url(series), {"kind": "continuous"})
    tracemalloc.start()
    try:
        chunks = rows = 0
        for chunk in response.streaming_content:
            chunks += 1
            rows += chunk.count(b"\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == 60_001 and chunks > 10
    assert peak < 8 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"


# --- PostgreSQL: COPY … TO STDOUT writes the same bytes as the Python writer ------------------------------------


def _tricky_daily_series():
    series = TimeSeriesFactory(kind=TimeSeries.Kind.DAILY, location=MonitoringLocationFactory(), unit="=ft^3/s")
    lm = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    values = [12.5, None, -3.25, 0.1 + 0.2, 1e-05, 123456789.0, 100.0, math.inf, -math.inf, math.nan, 0.0]
    DailyValue.objects.bulk_create(
        DailyValue(
            series=series,
            date=dt.date(2026, 1, 1) + dt.timedelta(days=i),
            value=v,
            qualifiers=[["e", "ICE"], ['=HYPERLINK("x")'], [], ["-1"], ["A\r=1", 'B"q']][i % 5],
            approval_status=["Approved", "Provisional", None][i % 3],
            last_modified=[lm, lm.replace(microsecond=120000), None][i % 3],
        )
        for i, v in enumerate(values)
    )
    return series


@pytest.mark.postgres
def test_on_postgresql_the_export_is_a_copy_with_the_python_writer_s_exact_output(monkeypatch):
    series = _tricky_daily_series()
    from_copy = b"".join(export.csv_chunks(series, None, None))

    monkeypatch.setattr(export, "_copy_supported", lambda: False)
    from_python = b"".join(export.csv_chunks(series, None, None))

    assert from_copy == from_python
    rows = list(csv.reader(io.StringIO(from_copy.decode(), newline="")))
    assert len(rows) == 12
    assert rows[2][4] == '\'=HYPERLINK("x")' and rows[1][2] == "'=ft^3/s"
    assert [r[1] for r in rows[8:11]] == ["", "", ""]  # inf, -inf, NaN


@pytest.mark.postgres
def test_on_postgresql_continuous_times_are_utc_as_in_python(monkeypatch):
    series = continuous_series_with_values(600)
    ContinuousValue.objects.filter(series=series).update(last_modified=dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC))
    tz = dt.timezone(dt.timedelta(hours=-5))
    from_copy = b"".join(export.csv_chunks(series, dt.date(2025, 1, 1), dt.date(2025, 1, 1), tz))
    monkeypatch.setattr(export, "_copy_supported", lambda: False)
    from_python = b"".join(export.csv_chunks(series, dt.date(2025, 1, 1), dt.date(2025, 1, 1), tz))
    assert from_copy == from_python
    assert from_copy.count(b"\n") == 289
    assert b"\n2025-01-01T05:00:00Z," in from_copy


def test_a_response_dropped_without_being_closed_frees_its_slot(viewer_client, limit):
    # An exception after the view returned (a middleware, say) drops the response unclosed: its slot is not lost.
    series = daily_series_with_values(5)
    for _ in range(limit + 2):
        response = viewer_client.get(_url(series))
        assert response.status_code == 200
        del response

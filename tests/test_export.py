"""CSV export of stored values: streamed, and exactly the stored values."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from acquisition.models import ContinuousValue, DailyValue
from stations.models import MonitoringLocation
from tests.monitoring_factories import continuous_series_with_values, daily_series_with_values

pytestmark = pytest.mark.django_db


def _csv(client, series, **params):
    url = reverse("monitoring:station_data_csv", args=[series.location.monitoring_location_id])
    response = client.get(url, params)
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return response, list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_full_daily_record_matches_the_stored_values_exactly(viewer_client):
    # ~33,000 days: a full record of a long-running gage, with nulls, qualifiers and both statuses.
    series = daily_series_with_values(33_000, start=dt.date(1936, 1, 1), provisional_from=32_800)
    DailyValue.objects.filter(series=series, date=dt.date(1936, 1, 2)).update(value=0.1 + 0.2)  # not 0.3

    response, rows = _csv(viewer_client, series)

    stored = list(
        DailyValue.objects.filter(series=series)
        .order_by("date")
        .values_list("date", "value", "approval_status", "qualifiers")
    )
    assert len(rows) == len(stored) == 33_000
    for row, (date, value, status, qualifiers) in zip(rows, stored, strict=True):
        assert row["date"] == date.isoformat()
        assert (None if row["value"] == "" else float(row["value"])) == value
        assert row["approval_status"] == status
        assert row["qualifiers"].split() == qualifiers
    assert rows[1]["value"] == "0.30000000000000004"
    assert (
        'filename="' + series.location.monitoring_location_id + '_daily_first_last.csv"'
        in (response["Content-Disposition"])
    )


def test_the_export_covers_only_the_selected_range(viewer_client):
    series = daily_series_with_values(100)
    _, rows = _csv(viewer_client, series, kind="daily", start="2020-02-01", end="2020-02-29")
    assert [r["date"] for r in rows][0] == "2020-02-01"
    assert len(rows) == 29


def test_continuous_values_export_with_utc_times(viewer_client):
    series = continuous_series_with_values(300)
    MonitoringLocation.objects.filter(pk=series.location_id).update(tz_abbreviation="")  # no zone: UTC days
    _, rows = _csv(viewer_client, series, kind="continuous", start="2025-01-01", end="2025-01-01")
    stored = list(
        ContinuousValue.objects.filter(series=series, time__date=dt.date(2025, 1, 1))
        .order_by("time")
        .values_list("time", "value")
    )
    assert len(rows) == len(stored) == 288
    assert rows[0]["time_utc"] == "2025-01-01T00:00:00Z"
    assert [float(r["value"]) for r in rows] == [v for _, v in stored]


def test_bad_dates_are_refused_with_a_sentence(viewer_client):
    series = daily_series_with_values(5)
    url = reverse("monitoring:station_data_csv", args=[series.location.monitoring_location_id])
    response = viewer_client.get(url, {"start": "2020-13-40"})
    assert response.status_code == 400
    assert b"use YYYY-MM-DD" in response.content

"""The station data page shows one range everywhere (inputs, chart, caption, CSV link), ISO dates, ft³/s, the
station's own time zone for continuous data, and never more points than values."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.urls import reverse

from monitoring import charts
from monitoring.data_views import station_zone
from stations.models import MonitoringLocation
from tests.factories import MonitoringLocationFactory
from tests.monitoring_factories import continuous_series_with_values, daily_series_with_values

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def _url(series, **params):
    return reverse("monitoring:station_data", args=[series.location.monitoring_location_id]), params


def _get(client, series, headers=None, **params):
    url, query = _url(series, **params)
    return client.get(url, query, headers=headers or {})


@pytest.mark.parametrize("params", [{"start": "1700-02-01"}, {"start": "2020-99-99"}])
def test_a_bad_range_shows_the_default_range_in_the_inputs_chart_caption_and_csv_link(viewer_client, params):
    series = daily_series_with_values(500)  # 2020-01-01 .. 2021-05-14
    for headers in ({}, HTMX):
        response = _get(viewer_client, series, headers=headers, kind="daily", **params)
        body = response.content.decode()
        assert ("<html" in body) is not bool(headers)
        assert 'value="2020-05-14"' in body and 'value="2021-05-14"' in body  # From / To inputs
        assert "Showing 2020-05-14 to 2021-05-14 instead." in body
        assert "start=2020-05-14&amp;end=2021-05-14" in body  # CSV link
        assert "from 2020-05-14 to 2021-05-14" in body  # caption
        assert response.context["chart"].values == 366
        assert params["start"] not in body.split('id="hydrograph"')[1].split("</form>")[0]


def test_a_daily_chart_draws_each_value_once(viewer_client):
    series = daily_series_with_values(366)
    response = _get(viewer_client, series, kind="daily", start="2020-01-01", end="2020-12-31")
    chart = response.context["chart"]
    assert chart.values == 366
    assert chart.points <= chart.values
    assert chart.points >= 366 - 10  # nulls break the line; every other value is drawn


def test_points_never_exceed_values_for_any_small_series():
    day = 86400.0
    for n in (1, 2, 3, 50, 499, 500, 1500, 1999):
        rows = [(i * day, float(i % 17), i > n // 2) for i in range(n)]
        spec = charts.HydrographSpec(start=0, end=max(n - 1, 1) * day, daily=True, unit="ft^3/s")
        chart = charts.hydrograph(rows, spec)
        assert chart.points <= chart.values == n


def test_dates_are_iso_and_the_unit_is_ft3_per_second(viewer_client):
    series = daily_series_with_values(100)
    body = _get(viewer_client, series, kind="daily", start="2020-01-01", end="2020-04-09").content.decode()
    assert "Discharge (ft³/s)" in body and "(ft³/s)" in body.split('id="chart-caption"')[1]
    assert "Stored record: 2020-01-01 to 2020-04-09" in body
    assert re.search(r">2020-0\d-\d\d</text>", body)
    assert "Jan" not in body.split("<svg")[1].split("</svg>")[0]


@pytest.mark.parametrize(
    ("code", "dst", "zone"),
    [
        ("EST", True, "America/New_York"),
        ("CST", True, "America/Chicago"),
        ("MST", True, "America/Denver"),
        ("MST", False, "America/Phoenix"),
        ("PST", True, "America/Los_Angeles"),
        ("AKST", True, "America/Anchorage"),
        ("HST", False, "Pacific/Honolulu"),
        ("AST", False, "America/Puerto_Rico"),
    ],
)
def test_station_zones_come_from_the_usgs_code(code, dst, zone):
    assert station_zone(MonitoringLocationFactory(tz_abbreviation=code, uses_dst=dst)).key == zone


def test_an_unknown_zone_stays_utc(viewer_client):
    assert station_zone(MonitoringLocationFactory(tz_abbreviation="", uses_dst=None)) is None


def test_continuous_data_are_shown_in_the_station_zone_and_exported_in_utc(viewer_client):
    series = continuous_series_with_values(600)  # 5-minute values from 2025-01-01 00:00 UTC
    MonitoringLocation.objects.filter(pk=series.location_id).update(tz_abbreviation="EST", uses_dst=True)
    response = _get(viewer_client, series, kind="continuous", start="2025-01-01", end="2025-01-01")
    body = response.content.decode()
    assert "Time (America/New_York, EST)" in body
    # 2025-01-01 in New York is 05:00 UTC to 05:00 UTC next day: 288 values
    assert response.context["chart"].values == 288
    assert "times in UTC" in body

    csv_url = reverse("monitoring:station_data_csv", args=[series.location.monitoring_location_id])
    export = viewer_client.get(csv_url, {"kind": "continuous", "start": "2025-01-01", "end": "2025-01-01"})
    text = b"".join(export.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert "_times_utc.csv" in export["Content-Disposition"]
    assert len(rows) == 288 and rows[0]["time_utc"] == "2025-01-01T05:00:00Z"
    assert rows[0]["unit_usgs"] == series.unit
    assert dt.datetime.fromisoformat(rows[-1]["time_utc"]) < dt.datetime(2025, 1, 2, 5, tzinfo=dt.UTC)

"""The station page: metadata, location, series, configurations and the stored-data summary."""

from __future__ import annotations

import datetime as dt

import pytest

from acquisition.models import DailyValue
from stations.models import TimeSeries
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory, TimeSeriesFactory

pytestmark = pytest.mark.django_db


def test_it_shows_metadata_location_series_configurations_and_stored_data(viewer_client):
    location = MonitoringLocationFactory(
        site_number="01646500", name="POTOMAC RIVER NEAR WASH, DC", county_name="Montgomery County",
        drainage_area_sqmi=11560, latitude=38.9497, longitude=-77.1276,
    )  # fmt: skip
    daily = TimeSeriesFactory(location=location, time_series_id="a" * 32, kind=TimeSeries.Kind.DAILY)
    TimeSeriesFactory(location=location, time_series_id="b" * 32, kind=TimeSeries.Kind.CONTINUOUS)
    for day in (dt.date(2026, 1, 1), dt.date(2026, 1, 2), dt.date(2026, 1, 5)):
        DailyValue.objects.create(series=daily, date=day, value=100.0)
    configuration = PullConfigurationFactory(name="Potomac daily")
    configuration.stations.add(location)

    response = viewer_client.get("/stations/USGS-01646500/")
    body = response.content.decode()

    assert response.status_code == 200
    assert "POTOMAC RIVER NEAR WASH, DC" in body
    assert "38.94970, -77.12760" in body and "Montgomery County" in body and "020700081005" in body
    assert "a" * 32 in body and "b" * 32 in body
    assert "Potomac daily" in body
    data = body[body.index('id="station-data"') :]
    assert "2026-01-01" in data and "2026-01-05" in data
    stored = {row["series"].kind: row for row in response.context["stored"]}
    assert stored["daily"]["count"] == 3
    assert stored["continuous"]["count"] == 0
    assert ">Add</button>" in body


def test_an_unknown_station_is_a_404(viewer_client):
    assert viewer_client.get("/stations/USGS-00000000/").status_code == 404


def test_the_name_is_escaped_on_the_station_page(viewer_client):
    MonitoringLocationFactory(site_number="09999999", name="<img src=x onerror=alert(1)>")
    body = viewer_client.get("/stations/USGS-09999999/").content.decode()
    assert "<img src=x" not in body and "&lt;img src=x onerror=alert(1)&gt;" in body


def test_adding_from_the_station_page_redirects_back_to_it(viewer_client):
    location = MonitoringLocationFactory(site_number="01646500")
    response = viewer_client.post(
        "/stations/basket/add/", {"id": location.monitoring_location_id, "next": location.get_absolute_url()}
    )
    assert response["Location"] == "/stations/USGS-01646500/"
    assert "Added ✓" in viewer_client.get("/stations/USGS-01646500/").content.decode()

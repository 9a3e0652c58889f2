"""The configuration and station pages lead to the monitoring views (statistics, hydrograph, export)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from acquisition.models import DailyValue
from tests.factories import PullConfigurationFactory, TimeSeriesFactory

pytestmark = pytest.mark.django_db


def test_the_configuration_page_loads_its_statistics_and_links_each_station_to_its_data(viewer_client):
    series = TimeSeriesFactory()
    config = PullConfigurationFactory()
    config.stations.add(series.location)

    body = viewer_client.get(reverse("pulls:detail", args=[config.pk])).content.decode()

    stats_url = reverse("monitoring:configuration_statistics", args=[config.pk])
    assert f'hx-get="{stats_url}"' in body
    assert f'href="{stats_url}"' in body  # works without JavaScript too
    assert reverse("monitoring:station_data", args=[series.location.monitoring_location_id]) in body


def test_the_statistics_fragment_replaces_the_placeholder_section(viewer_client):
    config = PullConfigurationFactory()
    response = viewer_client.get(
        reverse("monitoring:configuration_statistics", args=[config.pk]), headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="config-statistics"')
    assert "<html" not in body


def test_the_station_page_links_to_the_hydrograph_once_data_exists(viewer_client):
    series = TimeSeriesFactory()
    location = series.location
    data_url = reverse("monitoring:station_data", args=[location.monitoring_location_id])
    assert data_url not in viewer_client.get(location.get_absolute_url()).content.decode()

    DailyValue.objects.create(series=series, date=dt.date(2026, 1, 1), value=12.5)
    assert data_url in viewer_client.get(location.get_absolute_url()).content.decode()

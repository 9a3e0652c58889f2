"""The configuration page tells one story: one station table with this configuration's progress beside the values
stored in each shared series; the statistics fragment keeps run-level numbers and charts only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from pulls.models import PullConfiguration, PullConfigurationStation, StationProgress
from tests.factories import PullConfigurationFactory
from tests.monitoring_factories import daily_series_with_values

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def shared():
    """A configuration whose station's series already holds 1,096 values stored by another configuration."""
    config = PullConfigurationFactory(data_type=PullConfiguration.DataType.DAILY_MEAN)
    series = daily_series_with_values(1096)
    PullConfigurationStation.objects.create(configuration=config, location=series.location)
    return config, series


def test_a_station_filled_by_another_configuration_shows_its_stored_values_not_no_data(viewer_client, shared):
    config, series = shared
    body = viewer_client.get(reverse("pulls:detail", args=[config.pk])).content.decode()
    table = body.split('id="config-stations"')[1].split("</table>")[0]
    assert "<html" in body
    assert "1,096" in table
    assert "not pulled by this configuration yet" in table
    assert "no data yet" not in body
    assert f"/monitoring/stations/{series.location.monitoring_location_id}/data/?kind=daily" in table
    assert body.count('id="config-stations"') == 1


def test_the_newest_value_is_this_configurations_progress(viewer_client, shared):
    config, series = shared
    StationProgress.objects.update_or_create(
        configuration=config,
        location=series.location,
        defaults={"time_series": series, "newest_date": dt.date(2020, 4, 29), "consecutive_failures": 2},
    )
    body = viewer_client.get(reverse("pulls:detail", args=[config.pk])).content.decode()
    table = body.split('id="config-stations"')[1].split("</table>")[0]
    assert "2020-04-29" in table and "1,096" in table
    assert "not pulled by this configuration yet" not in table


def test_the_statistics_fragment_has_no_station_table(viewer_client, shared):
    config, series = shared
    body = viewer_client.get(
        reverse("monitoring:configuration_statistics", args=[config.pk]), headers=HTMX
    ).content.decode()
    assert "<html" not in body and body.lstrip().startswith('<section id="config-statistics"')
    assert "<table" not in body and series.location.monitoring_location_id not in body


def test_with_no_runs_the_statistics_say_so_instead_of_drawing_empty_axes(viewer_client, shared):
    config, _ = shared
    response = viewer_client.get(reverse("monitoring:configuration_statistics", args=[config.pk]))
    body = response.content.decode()
    assert "<html" in body
    assert "<svg" not in body
    assert "No finished runs yet" in body
    assert response.context["recent_runs"] == []

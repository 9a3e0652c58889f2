"""A StationProgress row exists for each (configuration, station), whichever way stations are added."""

from __future__ import annotations

import pytest

from pulls.models import PullConfigurationStation, StationProgress
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory

pytestmark = pytest.mark.django_db


def _progress(config) -> set[int]:
    return set(StationProgress.objects.filter(configuration=config).values_list("location_id", flat=True))


def test_stations_add_creates_progress_rows():
    config = PullConfigurationFactory()
    a, b = MonitoringLocationFactory(), MonitoringLocationFactory()
    config.stations.add(a, b)
    assert _progress(config) == {a.pk, b.pk}


def test_adding_from_the_station_side_creates_progress_rows():
    config = PullConfigurationFactory()
    location = MonitoringLocationFactory()
    location.pull_configurations.add(config)
    assert _progress(config) == {location.pk}


def test_creating_a_membership_directly_creates_a_progress_row():
    config = PullConfigurationFactory()
    location = MonitoringLocationFactory()
    PullConfigurationStation.objects.create(configuration=config, location=location)
    assert _progress(config) == {location.pk}


def test_add_stations_keeps_the_order_and_skips_existing_ones():
    config = PullConfigurationFactory()
    a, b, c = (MonitoringLocationFactory() for _ in range(3))
    config.add_stations([c.pk, a.pk])
    config.add_stations([a.pk, b.pk])
    assert [m.location for m in config.memberships.all()] == [c, a, b]
    assert _progress(config) == {a.pk, b.pk, c.pk}


def test_existing_progress_is_not_reset_by_adding_again():
    config = PullConfigurationFactory()
    location = MonitoringLocationFactory()
    config.stations.add(location)
    StationProgress.objects.filter(configuration=config).update(consecutive_failures=2)
    config.stations.add(location)
    assert StationProgress.objects.get(configuration=config).consecutive_failures == 2


def test_removing_or_clearing_stations_removes_their_progress():
    config = PullConfigurationFactory()
    a, b = MonitoringLocationFactory(), MonitoringLocationFactory()
    config.stations.add(a, b)
    config.stations.remove(a)
    assert _progress(config) == {b.pk}
    config.stations.clear()
    assert _progress(config) == set()

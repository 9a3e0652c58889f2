"""The status maps: stations coloured fresh / stale / failing / paused (and not pulled yet), as the dashboard counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from monitoring.run_statistics import dashboard_summary
from monitoring.status_map import station_states, status_points
from pulls.models import PullConfiguration, PullConfigurationStation, StationProgress
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory

pytestmark = pytest.mark.django_db
DASHBOARD_MAP = "/monitoring/status-map.json"


def _member(config, location=None, **progress):
    location = location or MonitoringLocationFactory()
    PullConfigurationStation.objects.create(configuration=config, location=location)
    if progress:  # the membership may have made an empty progress row already (pulls signals)
        StationProgress.objects.update_or_create(configuration=config, location=location, defaults=progress)
    return location


@pytest.fixture
def stations():
    """One station in each state, in an active daily configuration (and a paused one)."""
    now = timezone.now()
    today, long_ago = now.date(), now.date() - dt.timedelta(days=30)
    active = PullConfigurationFactory(name="Active daily", enabled=True)
    paused = PullConfigurationFactory(name="Paused daily", enabled=False)
    return {
        "active": active,
        "paused_config": paused,
        "fresh": _member(active, newest_date=today, last_success_at=now),
        "stale": _member(active, newest_date=long_ago, last_success_at=now),  # pulls work; USGS has nothing newer
        "failing": _member(active, newest_date=long_ago, last_success_at=now, consecutive_failures=3),
        "new": _member(active),
        "paused": _member(paused, newest_date=long_ago, last_success_at=now, consecutive_failures=3),
    }


def test_each_station_gets_the_state_the_dashboard_counts_it_in(stations):
    states = station_states()
    assert {key: states[stations[key].pk] for key in ("fresh", "stale", "failing", "new", "paused")} == {
        "fresh": "fresh",
        "stale": "stale",
        "failing": "failing",
        "new": "new",
        "paused": "paused",
    }
    summary = dashboard_summary()
    assert {s.location.pk for s in summary["silent_stations"]} == {pk for pk, s in states.items() if s == "stale"}
    assert {s.location.pk for s in summary["failing_stations"]} == {pk for pk, s in states.items() if s == "failing"}


def test_a_continuous_station_is_stale_after_its_own_hours(settings):
    settings.STALE_CONTINUOUS_HOURS = 6
    config = PullConfigurationFactory(data_type=PullConfiguration.DataType.CONTINUOUS)
    now = timezone.now()
    recent = _member(config, newest_time=now - dt.timedelta(hours=1), last_success_at=now)
    old = _member(config, newest_time=now - dt.timedelta(hours=7), last_success_at=now)
    states = station_states()
    assert (states[recent.pk], states[old.pk]) == ("fresh", "stale")


def test_a_station_in_several_configurations_shows_its_worst_state(stations):
    # The fresh station also sits in another active configuration whose pulls of it fail.
    other = PullConfigurationFactory(name="Other daily")
    _member(other, stations["fresh"], newest_date=timezone.now().date() - dt.timedelta(days=30), consecutive_failures=1)
    # The paused station also sits in an active configuration: it is not paused, then.
    _member(other, stations["paused"], newest_date=timezone.now().date(), last_success_at=timezone.now())
    states = station_states()
    assert states[stations["fresh"].pk] == "failing"
    assert states[stations["paused"].pk] == "fresh"


def test_a_configurations_map_has_only_its_own_stations_and_their_states_there(stations):
    # The failing station, healthy in a second configuration: that configuration's map shows it fresh.
    other = PullConfigurationFactory(name="Other daily")
    _member(other, stations["failing"], newest_date=timezone.now().date(), last_success_at=timezone.now())
    states = station_states(PullConfiguration.objects.filter(pk=other.pk))
    assert states == {stations["failing"].pk: "fresh"}
    assert station_states(PullConfiguration.objects.filter(pk=stations["active"].pk))[stations["failing"].pk] == (
        "failing"
    )


def test_every_station_of_a_paused_configuration_is_paused(stations):
    states = station_states(PullConfiguration.objects.filter(pk=stations["paused_config"].pk))
    assert states == {stations["paused"].pk: "paused"}


def test_the_points_name_each_placed_station_and_count_the_rest(stations):
    MonitoringLocation = type(stations["fresh"])
    MonitoringLocation.objects.filter(pk=stations["new"].pk).update(latitude=None, longitude=None)
    data = status_points()
    assert data["total"] == 5 and data["unplaced"] == 1 and len(data["points"]) == 4
    assert [stations["fresh"].monitoring_location_id, stations["fresh"].name, 39.0, -77.0, "fresh"] in data["points"]
    counts = {state["key"]: state["count"] for state in data["states"]}
    assert counts == {"failing": 1, "stale": 1, "new": 1, "fresh": 1, "paused": 1}
    assert [state["key"] for state in data["states"]] == ["failing", "stale", "new", "fresh", "paused"]
    assert all(state["color"].startswith("#") and state["label"] for state in data["states"])


# --- the endpoints -----------------------------------------------------------------------------------------------
def test_the_dashboards_map_covers_every_configuration(viewer_client, stations):
    response = viewer_client.get(DASHBOARD_MAP)
    data = response.json()
    assert response.status_code == 200
    assert len(data["points"]) == 5 and data["detail_prefix"] == "/stations/"
    assert {point[4] for point in data["points"]} == {"fresh", "stale", "failing", "new", "paused"}


def test_a_configurations_map_answers_for_that_configuration(viewer_client, stations):
    response = viewer_client.get(f"/monitoring/configurations/{stations['active'].pk}/status-map.json")
    assert response.status_code == 200
    assert sorted(point[4] for point in response.json()["points"]) == ["failing", "fresh", "new", "stale"]
    assert viewer_client.get("/monitoring/configurations/999999/status-map.json").status_code == 404


def test_anonymous_users_are_sent_to_the_login_page(anonymous_client, stations):
    for url in (DASHBOARD_MAP, f"/monitoring/configurations/{stations['active'].pk}/status-map.json"):
        response = anonymous_client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_dashboard_and_the_configuration_page_carry_the_map(viewer_client, stations):
    dashboard = viewer_client.get("/").content.decode()
    assert 'id="status-map" class="status-map border rounded" data-points-url="/monitoring/status-map.json"' in (
        dashboard
    )
    assert '<script src="/static/leaflet/leaflet.js" defer></script>' in dashboard
    assert 'data-outlines-url="/static/map/us-states.geojson"' in dashboard
    # Outside the cards that poll every 10 s: the map is not rebuilt by the poll.
    cards = viewer_client.get("/", headers={"HX-Request": "true"}).content.decode()
    assert "status-map" not in cards

    config_page = viewer_client.get(stations["active"].get_absolute_url()).content.decode()
    url = f"/monitoring/configurations/{stations['active'].pk}/status-map.json"
    assert f'data-points-url="{url}"' in config_page

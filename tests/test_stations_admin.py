"""The admin lists, searches and filters locations and their series."""

from __future__ import annotations

import pytest

from tests.factories import MonitoringLocationFactory, TimeSeriesFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_it_searches_and_filters_locations(admin_client):
    MonitoringLocationFactory(site_number="01646500", name="POTOMAC RIVER")
    MonitoringLocationFactory(site_number="11264500", name="MERCED R", state_code="CA")

    by_name = admin_client.get("/admin/stations/monitoringlocation/", {"q": "potomac"})
    by_state = admin_client.get("/admin/stations/monitoringlocation/", {"state_code__exact": "CA"})

    assert by_name.status_code == 200 and by_state.status_code == 200
    assert [o.site_number for o in by_name.context["cl"].result_list] == ["01646500"]
    assert [o.site_number for o in by_state.context["cl"].result_list] == ["11264500"]


def test_it_shows_a_location_with_its_series_inline(admin_client):
    series = TimeSeriesFactory(time_series_id="c" * 32)
    response = admin_client.get(f"/admin/stations/monitoringlocation/{series.location.pk}/change/")
    assert response.status_code == 200 and "c" * 32 in response.content.decode()
    listing = admin_client.get("/admin/stations/timeseries/", {"kind__exact": "daily"})
    assert listing.status_code == 200 and "c" * 32 in listing.content.decode()


def test_the_location_list_keeps_to_four_columns_that_fit_a_laptop_screen(admin_client):
    MonitoringLocationFactory(name="NORTH BRANCH POTOMAC RIVER AT STEYER, MD", drainage_area_sqmi=73.0)
    response = admin_client.get("/admin/stations/monitoringlocation/")
    body = response.content.decode()
    assert response.status_code == 200
    assert list(response.context["cl"].list_display)[1:] == [
        "monitoring_location_id",
        "name",
        "state_code",
        "drainage_area_sqmi",
    ]
    assert "73.0" in body and "column-huc" not in body

"""The station map's points under load (issue 22, item 4): one user loads at most HEAVY_PAGES_PER_USER maps at
once (one more is a 429 sentence straight away), and a search's matches are cached until the catalog changes."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from stations.models import MonitoringLocation, TimeSeries
from stations.upserts import upsert_locations, upsert_series
from streamflow import slots
from tests.factories import MonitoringLocationFactory, UserFactory

pytestmark = pytest.mark.django_db
POINTS = "/stations/map/points.json"
TABLE = MonitoringLocation._meta.db_table


@pytest.fixture
def limit(settings):
    settings.HEAVY_PAGES_PER_USER = 2
    return 2


@pytest.fixture
def held(viewer, limit):
    """Both of the viewer's map slots, taken as two maps loading in other threads or processes would."""
    taken = [slots.acquire(viewer.pk, limit, "map") for _ in range(limit)]
    assert all(taken)
    yield taken
    for slot in taken:
        slot.release()


@pytest.fixture
def catalog():
    return [
        MonitoringLocationFactory(
            site_number="01646500", name="POTOMAC RIVER NEAR WASH, DC", latitude=38.9, longitude=-77.1
        ),
        MonitoringLocationFactory(
            site_number="01645000", name="SENECA CREEK AT DAWSONVILLE, MD", latitude=39.1, longitude=-77.3
        ),
    ]


def ids(response) -> list[str]:
    return [point[0] for point in response.json()["points"]]


def catalog_reads(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries.captured_queries if TABLE in query["sql"]]


def rows_reads(queries: CaptureQueriesContext) -> list[str]:
    """The queries that read the stations' rows (the catalog's version reads only MAX(id) and MAX(updated_at))."""
    return [sql for sql in catalog_reads(queries) if "latitude" in sql]


# --- the slot -----------------------------------------------------------------------------------------------------
def test_one_map_more_than_the_cap_is_a_429_sentence_and_reads_no_station(viewer_client, catalog, held):
    with CaptureQueriesContext(connection) as queries:
        response = viewer_client.get(POINTS)

    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/plain") and int(response["Retry-After"]) > 0
    assert response.content.decode() == (
        "You already have 2 station maps loading; wait for them to finish, then try again."
    )
    assert catalog_reads(queries) == []


def test_another_users_map_is_not_held_up_by_the_first(client, viewer, catalog, held):
    other = UserFactory(username="vera-viewer")
    other.groups.set(viewer.groups.all())
    client.force_login(other)

    assert ids(client.get(POINTS)) == ["USGS-01645000", "USGS-01646500"]


def test_quality_pages_loading_do_not_hold_up_the_map(viewer_client, viewer, catalog, limit):
    quality = [slots.acquire(viewer.pk, limit, "heavy") for _ in range(limit)]
    try:
        assert viewer_client.get(POINTS).status_code == 200
    finally:
        for slot in quality:
            slot.release()


def test_a_finished_map_frees_its_slot(viewer_client, catalog, limit):
    for state in ["MD", "", "MD", "CA"]:
        assert viewer_client.get(POINTS, {"state": state}).status_code == 200


def test_an_unreadable_filter_also_frees_its_slot(viewer_client, catalog, limit):
    for _ in range(limit + 1):
        assert viewer_client.get(POINTS, {"huc": "02x7"}).status_code == 400
    assert viewer_client.get(POINTS).status_code == 200


# --- the cache ----------------------------------------------------------------------------------------------------
def test_a_second_identical_search_is_served_from_the_cache_without_reading_the_stations(viewer_client, catalog):
    first = viewer_client.get(POINTS, {"state": "MD"})
    with CaptureQueriesContext(connection) as queries:
        second = viewer_client.get(POINTS, {"state": "MD"})

    assert second.status_code == 200 and second.json() == first.json()
    assert rows_reads(queries) == []
    assert len(catalog_reads(queries)) == 1  # the catalog's version: two index steps


def test_a_search_written_differently_but_read_the_same_shares_the_cached_answer(viewer_client, catalog):
    viewer_client.get(POINTS, {"q": "Potomac River", "bbox": "-77.2,38.8,-77,39"})
    with CaptureQueriesContext(connection) as queries:
        response = viewer_client.get(POINTS, {"q": "  potomac   RIVER ", "bbox": "-77.20,38.8,-77.0,39.00"})

    assert ids(response) == ["USGS-01646500"] and rows_reads(queries) == []


def test_different_searches_are_cached_apart(viewer_client, catalog):
    assert ids(viewer_client.get(POINTS, {"q": "potomac"})) == ["USGS-01646500"]
    assert ids(viewer_client.get(POINTS, {"q": "seneca"})) == ["USGS-01645000"]
    assert ids(viewer_client.get(POINTS, {"q": "potomac", "series": "daily"})) == []


def test_a_cached_answer_marks_the_basket_as_it_is_now(viewer_client, catalog):
    viewer_client.get(POINTS)
    viewer_client.post("/stations/basket/add/", {"id": "USGS-01645000"})
    with CaptureQueriesContext(connection) as queries:
        points = viewer_client.get(POINTS).json()["points"]

    assert {point[0]: point[6] for point in points} == {"USGS-01645000": 1, "USGS-01646500": 0}
    assert rows_reads(queries) == []


def test_an_imported_station_shows_at_once(viewer_client, catalog):
    viewer_client.get(POINTS)
    with CaptureQueriesContext(connection) as queries:
        viewer_client.get(POINTS)
    assert rows_reads(queries) == []  # cached

    upsert_locations(
        [
            {
                "monitoring_location_id": "USGS-01650000",
                "site_number": "01650000",
                "name": "NW BRANCH ANACOSTIA RIVER",
                "latitude": 38.9,
                "longitude": -77.0,
            }
        ]
    )

    assert ids(viewer_client.get(POINTS)) == ["USGS-01645000", "USGS-01646500", "USGS-01650000"]


def test_an_edited_station_shows_at_once(viewer_client, catalog):
    viewer_client.get(POINTS, {"q": "potomac"})
    with CaptureQueriesContext(connection) as queries:
        viewer_client.get(POINTS, {"q": "potomac"})
    assert rows_reads(queries) == []  # cached

    upsert_locations([{"monitoring_location_id": "USGS-01646500", "name": "POTOMAC RIVER AT LITTLE FALLS"}])

    assert viewer_client.get(POINTS, {"q": "potomac"}).json()["points"][0][1] == "POTOMAC RIVER AT LITTLE FALLS"


def test_a_station_gaining_a_series_in_an_import_shows_at_once(viewer_client, catalog):
    assert ids(viewer_client.get(POINTS, {"series": "daily"})) == []
    with CaptureQueriesContext(connection) as queries:
        viewer_client.get(POINTS, {"series": "daily"})
    assert rows_reads(queries) == []  # cached

    upsert_series(
        [{"monitoring_location_id": "USGS-01646500", "time_series_id": "ts-1", "kind": TimeSeries.Kind.DAILY}]
    )

    assert ids(viewer_client.get(POINTS, {"series": "daily"})) == ["USGS-01646500"]


def test_a_series_import_that_changes_no_flag_leaves_updated_at_alone(catalog):
    upsert_series([{"monitoring_location_id": "USGS-01646500", "time_series_id": "ts-1", "kind": "daily"}])
    potomac, seneca = (MonitoringLocation.objects.get(pk=location.pk) for location in catalog)
    assert potomac.has_daily is True and potomac.updated_at > catalog[0].updated_at

    upsert_series([{"monitoring_location_id": "USGS-01646500", "time_series_id": "ts-2", "kind": "daily"}])

    again = MonitoringLocation.objects.get(pk=potomac.pk)
    assert again.has_daily is True and again.updated_at == potomac.updated_at
    assert MonitoringLocation.objects.get(pk=seneca.pk).updated_at == catalog[1].updated_at


def test_with_no_cache_time_every_request_reads_the_stations(viewer_client, catalog, settings):
    settings.MAP_POINTS_CACHE_SECONDS = 0
    viewer_client.get(POINTS)
    with CaptureQueriesContext(connection) as queries:
        viewer_client.get(POINTS)

    assert len(rows_reads(queries)) == 1

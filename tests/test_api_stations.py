"""Stations through the API: the UI's search and its messages, keyset pages, one station with its series."""

from __future__ import annotations

import pytest

from tests.api_helpers import bearer, make_catalog

pytestmark = pytest.mark.django_db
URL = "/api/v1/stations"


@pytest.fixture
def headers(viewer):
    make_catalog()
    return bearer(viewer)


def _ids(response) -> list[str]:
    return [s["monitoring_location_id"] for s in response.json()["items"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["USGS-01636500", "USGS-01645000", "USGS-01646500"]),
        ("q=potomac", ["USGS-01646500"]),
        ("q=0164", ["USGS-01645000", "USGS-01646500"]),
        ("state=VA", ["USGS-01636500"]),
        ("huc=02070008", ["USGS-01645000", "USGS-01646500"]),
        ("series=continuous", ["USGS-01636500"]),
        ("bbox=-77.2,38.9,-77.0,39.0", ["USGS-01646500"]),
    ],
)
def test_it_searches_as_the_stations_page_does(client, headers, query, expected):
    response = client.get(f"{URL}?{query}", headers=headers)
    assert response.status_code == 200
    assert _ids(response) == expected


def test_a_bad_bbox_gets_the_search_forms_message(client, headers):
    response = client.get(f"{URL}?bbox=1,2,3", headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"]["bbox"][0].startswith("An area is four numbers")


def test_the_next_link_walks_every_page_once(client, headers):
    seen, url = [], f"{URL}?limit=1"
    while url:
        body = client.get(url, headers=headers).json()
        seen += [s["monitoring_location_id"] for s in body["items"]]
        url = body["next"]
    assert seen == ["USGS-01636500", "USGS-01645000", "USGS-01646500"]


def test_a_changed_cursor_is_refused(client, headers):
    body = client.get(f"{URL}?limit=1", headers=headers).json()
    forged = body["next"].replace("cursor=", "cursor=x")
    response = client.get(forged, headers=headers)
    assert response.status_code == 422
    assert "cursor" in response.json()["errors"]


def test_one_station_comes_with_its_series(client, headers):
    body = client.get(f"{URL}/USGS-01646500", headers=headers).json()
    assert body["name"] == "POTOMAC RIVER NEAR WASH, DC"
    assert [s["time_series_id"] for s in body["series"]] == ["a" * 32]
    assert body["series"][0]["values_url"].endswith(f"/api/v1/series/{'a' * 32}/values")


def test_an_unknown_station_is_a_404_that_names_it(client, headers):
    response = client.get(f"{URL}/USGS-00000000", headers=headers)
    assert response.status_code == 404
    assert "USGS-00000000" in response.json()["detail"]

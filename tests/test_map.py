"""The station search's map: the List / Map toggle, and the points endpoint that feeds the map the same search."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings

from stations import map_views
from tests.factories import MonitoringLocationFactory

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}
POINTS = "/stations/map/points.json"


@pytest.fixture
def catalog():
    make = MonitoringLocationFactory
    return {
        "potomac": make(
            site_number="01646500",
            name="POTOMAC RIVER NEAR WASH, DC",
            latitude=38.9498,
            longitude=-77.1276,
            has_daily=True,
            has_continuous=True,
        ),
        "seneca": make(
            site_number="01645000", name="SENECA CREEK AT DAWSONVILLE, MD", latitude=39.128, longitude=-77.337
        ),
        "merced": make(
            site_number="11264500",
            name="MERCED R A HAPPY ISLES BRIDGE NR YOSEMITE CA",
            state_code="CA",
            state_fips="06",
            latitude=37.7316,
            longitude=-119.5586,
            has_daily=True,
        ),
    }


def ids(response) -> list[str]:
    return [point[0] for point in response.json()["points"]]


# --- the points endpoint ------------------------------------------------------------------------------------------
def test_it_answers_every_matching_station_as_a_compact_row(viewer_client, catalog):
    response = viewer_client.get(POINTS)
    data = response.json()
    assert response.status_code == 200
    assert data["fields"] == ["id", "name", "lat", "lon", "has_daily", "has_continuous", "in_basket"]
    assert data["count"] == 3 and data["capped"] is False and data["message"] == ""
    assert ["USGS-01646500", "POTOMAC RIVER NEAR WASH, DC", 38.9498, -77.1276, 1, 1, 0] in data["points"]


def test_it_applies_the_same_filters_as_the_list(viewer_client, catalog):
    assert ids(viewer_client.get(POINTS, {"state": "CA"})) == ["USGS-11264500"]
    assert ids(viewer_client.get(POINTS, {"q": "potomac river"})) == ["USGS-01646500"]
    assert ids(viewer_client.get(POINTS, {"series": "daily"})) == ["USGS-01646500", "USGS-11264500"]
    assert ids(viewer_client.get(POINTS, {"huc": "0207", "q": "creek"})) == ["USGS-01645000"]
    # The list agrees, page for page.
    listed = viewer_client.get("/stations/", {"series": "daily"}).context["result"].locations
    assert [loc.monitoring_location_id for loc in listed] == ["USGS-01646500", "USGS-11264500"]


def test_it_keeps_only_the_stations_inside_a_bbox(viewer_client, catalog):
    response = viewer_client.get(POINTS, {"bbox": "-77.2,38.8,-77.0,39.0"})
    assert ids(response) == ["USGS-01646500"]


def test_an_unreadable_filter_draws_nothing_and_says_why(viewer_client, catalog):
    response = viewer_client.get(POINTS, {"bbox": "10,0,5,1"})
    assert response.status_code == 400
    assert response.json()["points"] == []
    assert "west must be less than east" in " ".join(response.json()["errors"])
    response = viewer_client.get(POINTS, {"huc": "02x7"})
    assert response.status_code == 400 and "A HUC prefix is 1 to 12 digits" in response.json()["errors"][0]


def test_a_bad_page_number_does_not_matter_to_the_map(viewer_client, catalog):
    assert viewer_client.get(POINTS, {"page": "abc"}).status_code == 200


def test_stations_without_coordinates_are_left_out(viewer_client, catalog):
    MonitoringLocationFactory(site_number="01650000", latitude=None, longitude=None)
    assert "USGS-01650000" not in ids(viewer_client.get(POINTS))
    assert viewer_client.get("/stations/").context["result"].count == 4  # the list still has it


def test_it_says_which_stations_are_in_the_basket(viewer_client, catalog):
    viewer_client.post("/stations/basket/add/", {"id": "USGS-01645000"})
    in_basket = {point[0]: point[6] for point in viewer_client.get(POINTS).json()["points"]}
    assert in_basket == {"USGS-01645000": 1, "USGS-01646500": 0, "USGS-11264500": 0}


def test_past_the_limit_it_stops_and_says_so(viewer_client, catalog, monkeypatch):
    monkeypatch.setattr(map_views, "MAP_POINTS_LIMIT", 2)
    data = viewer_client.get(POINTS).json()
    assert data["capped"] is True and data["count"] == 2 and len(data["points"]) == 2
    assert data["message"].startswith("More than 2 stations match, so the map shows the first 2")
    assert "Search this area" in data["message"]


def test_names_are_data_not_markup(viewer_client):
    MonitoringLocationFactory(name="<script>alert(1)</script> CREEK", latitude=39, longitude=-77)
    response = viewer_client.get(POINTS)
    assert response["Content-Type"] == "application/json"
    assert response.json()["points"][0][1] == "<script>alert(1)</script> CREEK"  # the page sets it as text


def test_viewers_and_operators_can_read_the_points(viewer_client, catalog, operator):
    assert viewer_client.get(POINTS).status_code == 200
    viewer_client.force_login(operator)
    assert viewer_client.get(POINTS).status_code == 200


def test_anonymous_users_are_sent_to_the_login_page(anonymous_client, catalog):
    response = anonymous_client.get(POINTS)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_user_without_a_role_is_refused(client, catalog):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="nobody"))
    assert client.get(POINTS).status_code == 403


# --- the List / Map toggle ----------------------------------------------------------------------------------------
def test_the_list_links_to_the_map_of_the_same_search(viewer_client, catalog):
    body = viewer_client.get("/stations/", {"state": "MD", "q": "creek", "page": "1"}).content.decode()
    assert 'href="/stations/?q=creek&amp;state=MD&amp;view=map" id="view-map"' in body
    assert 'id="station-map"' not in body and "leaflet.js" not in body
    assert 'id="results-table"' in body


def test_the_map_view_keeps_the_filters_and_links_back_to_the_list(viewer_client, catalog):
    response = viewer_client.get("/stations/", {"state": "MD", "view": "map"})
    body = response.content.decode()
    assert response.status_code == 200 and "<html" in body
    assert 'href="/stations/?state=MD" id="view-list"' in body
    assert 'data-points-url="/stations/map/points.json?state=MD"' in body
    assert '<input type="hidden" name="view" value="map">' in body  # a live search stays on the map
    assert 'id="station-map"' in body and 'id="search-this-area"' in body
    assert 'id="results-table"' not in body
    assert "2 stations match; the map below draws them." in " ".join(body.split())
    # Leaflet from our own static files, never a CDN.
    assert '<script src="/static/leaflet/leaflet.js" defer></script>' in body
    assert '<script src="/static/js/maps.js" defer></script>' in body
    assert "unpkg" not in body and "cdn" not in body.lower()


def test_the_map_views_htmx_fragment_names_the_new_points(viewer_client, catalog):
    response = viewer_client.get("/stations/", {"q": "potomac", "view": "map"}, headers=HX)
    body = response.content.decode()
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="results" data-points-url="/stations/map/points.json?q=potomac">')
    assert 'id="results-table"' not in body and 'id="station-map"' not in body  # the map itself stays
    assert response["HX-Push-Url"] == "/stations/?q=potomac&view=map"


def test_a_filter_error_on_the_map_view_names_no_points(viewer_client, catalog):
    body = viewer_client.get("/stations/", {"huc": "02x7", "view": "map"}, headers=HX).content.decode()
    assert 'data-points-url=""' in body and "A HUC prefix is 1 to 12 digits" in body


def test_a_search_this_area_bbox_reaches_the_map_and_the_list(viewer_client, catalog):
    query = {"bbox": "-77.2,38.8,-77,39", "view": "map"}
    body = viewer_client.get("/stations/", query).content.decode()
    assert 'data-bbox="-77.2,38.8,-77,39"' in body
    assert 'data-points-url="/stations/map/points.json?bbox=-77.2%2C38.8%2C-77%2C39"' in body
    assert 'href="/stations/?bbox=-77.2%2C38.8%2C-77%2C39" id="view-list"' in body
    listed = viewer_client.get("/stations/", {"bbox": "-77.2,38.8,-77,39"}).context["result"].locations
    assert [loc.monitoring_location_id for loc in listed] == ["USGS-01646500"]


def test_add_all_on_the_map_view_answers_with_the_map_views_results(viewer_client, catalog):
    response = viewer_client.post("/stations/basket/add-all/", {"state": "MD", "view": "map"}, headers=HX)
    body = response.content.decode()
    assert "Added 2 stations to the basket." in body
    assert 'data-points-url="/stations/map/points.json?state=MD"' in body and 'id="results-table"' not in body


# --- the background ------------------------------------------------------------------------------------------------
def test_without_a_tile_url_the_map_draws_the_shipped_state_outlines(viewer_client, catalog):
    assert settings.MAP_TILE_URL == ""  # tests have no network (tests/conftest.py)
    body = viewer_client.get("/stations/", {"view": "map"}).content.decode()
    assert 'data-tile-url=""' in body and 'data-outlines-url="/static/map/us-states.geojson"' in body


@override_settings(MAP_TILE_URL="https://tiles.example.org/{z}/{x}/{y}.png", MAP_TILE_ATTRIBUTION="© Example")
def test_the_tile_settings_reach_the_page_as_data_attributes(viewer_client, catalog):
    body = viewer_client.get("/stations/", {"view": "map"}).content.decode()
    assert 'data-tile-url="https://tiles.example.org/{z}/{x}/{y}.png"' in body
    assert 'data-tile-attribution="© Example"' in body


def test_the_content_security_policy_lets_the_tiles_in(viewer_client, catalog):
    policy = viewer_client.get("/stations/", {"view": "map"})["Content-Security-Policy"]
    img_src = next(part for part in policy.split(";") if part.strip().startswith("img-src")).split()
    assert all(origin in img_src for origin in settings.MAP_TILE_ORIGINS)
    assert "script-src 'self'" in policy  # and the scripts stay our own


def test_the_shipped_outlines_are_a_small_geojson_of_the_states():
    import json

    path = settings.BASE_DIR / "static" / "map" / "us-states.geojson"
    outlines = json.loads(path.read_text())
    codes = {feature["properties"]["code"] for feature in outlines["features"]}
    assert {"MD", "CA", "AK", "HI", "DC", "PR"} <= codes and len(codes) == 52
    assert "Census" in outlines["source"]
    assert path.stat().st_size < 200_000

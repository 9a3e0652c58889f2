"""A real browser draws the station search's map: every matching gage, "search this area", adding from a popup."""

from __future__ import annotations

import os

import pytest

from stations.models import MonitoringLocation
from tests.factories import MonitoringLocationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = os.environ.get("MAP_SCREENSHOTS")  # a folder: the tests also save what they saw, to look at


def _shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


def _grid(count: int, state: str, fips: str, west: float, south: float, first_site: int) -> None:
    """`count` gages on a grid over about 4° × 2.5°, in one INSERT (a factory per row would take minutes)."""
    side = int(count**0.5) + 1
    MonitoringLocation.objects.bulk_create(
        MonitoringLocation(
            monitoring_location_id=f"USGS-{first_site + i:08d}",
            site_number=f"{first_site + i:08d}",
            name=f"GRID CREEK {i}",
            state_code=state,
            state_fips=fips,
            latitude=south + 2.5 * (i // side) / side,
            longitude=west + 4.0 * (i % side) / side,
            has_daily=True,
        )
        for i in range(count)
    )


def _map_ready(page, count: int):
    from playwright.sync_api import expect

    station_map = page.locator("#station-map")
    expect(station_map).to_have_attribute("data-state", "ready")
    expect(station_map).to_have_attribute("data-marker-count", str(count))
    return station_map


def _click_station(page, lat: float, lon: float) -> None:
    """Click where the map draws a station (markers are on a canvas: there is no element to click)."""
    point = page.evaluate("([lat, lon]) => document.getElementById('station-map').leafletMap"
                          ".latLngToContainerPoint([lat, lon])", [lat, lon])  # fmt: skip
    page.locator("#station-map").scroll_into_view_if_needed()
    box = page.locator("#station-map").bounding_box()
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])


def test_the_map_draws_every_gage_that_matches_the_filter(viewer_page):
    from playwright.sync_api import expect

    page = viewer_page
    _grid(10_000, "MD", "24", west=-79.5, south=37.9, first_site=1_000_000)
    _grid(30, "CA", "06", west=-122.0, south=36.0, first_site=11_000_000)

    page.goto("/stations/?state=MD&view=map")
    _map_ready(page, 10_000)
    expect(page.locator("#map-status")).to_have_text("10,000 stations on the map.")
    expect(page.locator("#view-map")).to_have_class("nav-link py-1 active")
    # Offline: no tiles, the shipped state outlines behind the markers.
    expect(page.locator(".leaflet-tile")).to_have_count(0)
    expect(page.locator(".leaflet-outlines-pane canvas")).to_have_count(1)
    _shot(page, "search-map-10000")

    # A live search (no reload) redraws the map with the new matches, and the URL keeps the map view.
    page.select_option("#id_state", "CA")
    _map_ready(page, 30)
    page.wait_for_url("**/stations/?*state=CA*view=map*")
    expect(page.locator("#result-count")).to_contain_text("30 stations match")

    page.locator("#view-list").click()
    page.wait_for_url("**/stations/?state=CA")
    expect(page.locator("#results-table tbody tr[data-location-id]")).to_have_count(30)


def test_search_this_area_narrows_the_list_and_the_map(viewer_page):
    from playwright.sync_api import expect

    page = viewer_page
    MonitoringLocationFactory(
        site_number="01646500", name="POTOMAC RIVER NEAR WASH, DC", latitude=38.95, longitude=-77.13
    )
    MonitoringLocationFactory(
        site_number="01645000", name="SENECA CREEK AT DAWSONVILLE", latitude=39.13, longitude=-77.34
    )
    MonitoringLocationFactory(
        site_number="11264500", name="MERCED R NR YOSEMITE", state_code="CA", latitude=37.73, longitude=-119.56
    )
    page.goto("/stations/?view=map")
    _map_ready(page, 3)

    # The reader zooms in on the Potomac (as with the mouse), then asks for this area only.
    page.evaluate(
        "document.getElementById('station-map').leafletMap.fitBounds([[38.7, -77.7], [39.4, -76.8]], {animate: false})"
    )
    page.locator("#search-this-area").click()
    page.wait_for_url("**/stations/?bbox=*view=map")
    _map_ready(page, 2)
    expect(page.locator("#search-area")).to_contain_text("Only stations inside the area")
    expect(page.locator("#result-count")).to_contain_text("2 stations match")
    _shot(page, "search-map-this-area")

    page.locator("#view-list").click()
    page.wait_for_url("**/stations/?bbox=*")
    rows = page.locator("#results-table tbody tr[data-location-id]")
    expect(rows).to_have_count(2)
    assert sorted(rows.nth(i).get_attribute("data-location-id") for i in range(2)) == [
        "USGS-01645000",
        "USGS-01646500",
    ]


def test_adding_from_a_popup_updates_the_basket_counter(viewer_page):
    from playwright.sync_api import expect

    page = viewer_page
    MonitoringLocationFactory(
        site_number="01646500",
        name="POTOMAC <b>RIVER</b> NEAR WASH, DC",
        latitude=38.95,
        longitude=-77.13,
        has_daily=True,
        has_continuous=True,
    )
    page.goto("/stations/?view=map")
    _map_ready(page, 1)
    expect(page.locator("#basket-count")).to_have_text("0")

    _click_station(page, 38.95, -77.13)
    popup = page.locator(".leaflet-popup-content")
    expect(popup).to_contain_text("POTOMAC <b>RIVER</b> NEAR WASH, DC")  # a name is text, never markup
    expect(popup).to_contain_text("USGS-01646500")
    expect(popup).to_contain_text("Series: daily, continuous")
    expect(popup.get_by_role("link", name="Station page")).to_have_attribute("href", "/stations/USGS-01646500/")
    _shot(page, "search-map-popup")

    popup.get_by_role("button", name="Add to the basket").click()
    expect(page.locator("#basket-count")).to_have_text("1")
    expect(popup.locator("button.basket-add")).to_have_text("Added ✓")

    # Opened again, the popup knows the station is in the basket.
    page.locator(".leaflet-popup-close-button").click()
    _click_station(page, 38.95, -77.13)
    popup.get_by_role("button", name="Remove from the basket").click()
    expect(page.locator("#basket-count")).to_have_text("0")
    page.reload()
    expect(page.locator("#basket-count")).to_have_text("0")  # the session says so, not the page


# A 1×1 PNG: what the intercepted tile requests answer (the tests have no network, and send nothing out).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a5f1c8b70000000049454e44ae426082"
)


def test_with_a_tile_url_the_map_loads_tiles_the_content_security_policy_allows(viewer_page, settings):
    from playwright.sync_api import expect

    page = viewer_page
    default = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    if "https://tile.openstreetmap.org" not in settings.MAP_TILE_ORIGINS:
        pytest.skip("MAP_TILE_URL is set in this environment; the CSP names its host, not OpenStreetMap's")
    settings.MAP_TILE_URL = default
    asked = []
    page.route("https://tile.openstreetmap.org/**", lambda route: (asked.append(route.request.url),
               route.fulfill(status=200, content_type="image/png", body=PNG)))  # fmt: skip
    refused = []
    page.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None)
    MonitoringLocationFactory(site_number="01646500", latitude=38.95, longitude=-77.13)

    page.goto("/stations/?view=map")
    _map_ready(page, 1)
    expect(page.locator("img.leaflet-tile-loaded").first).to_be_attached()
    assert asked and not refused
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("OpenStreetMap contributors")
    expect(page.locator(".leaflet-outlines-pane")).to_have_count(0)  # tiles instead of the outlines


def test_the_map_view_fits_a_phone_without_sideways_scrolling(viewer_page):
    page = viewer_page
    page.set_viewport_size({"width": 390, "height": 844})
    MonitoringLocationFactory(site_number="01646500", latitude=38.95, longitude=-77.13)
    page.goto("/stations/?view=map")
    _map_ready(page, 1)
    width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1]
    _shot(page, "search-map-phone")

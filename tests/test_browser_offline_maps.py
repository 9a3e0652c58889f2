"""With MAP_TILE_URL empty (what `make demo` sets, issue 23 item 14) the maps ask nothing of any other server: the
search map and the dashboard's status map draw the shipped state outlines, on a desktop and on a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import log_in
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("size", SIZES)
def test_without_a_tile_url_the_maps_draw_outlines_and_ask_no_other_server(
    browser, live_server, viewer, settings, size
):
    settings.MAP_TILE_URL = ""
    location = MonitoringLocationFactory(site_number="01646500", latitude=38.95, longitude=-77.13, state_code="MD")
    PullConfigurationFactory(name="Potomac").stations.add(location)
    context = browser.new_context(base_url=live_server.url, viewport=SIZES[size])
    context.set_default_timeout(10_000)
    page = context.new_page()
    elsewhere = []
    page.on("request", lambda r: None if r.url.startswith((live_server.url, "data:")) else elsewhere.append(r.url))
    try:
        log_in(page, viewer)
        for url, selector in [("/stations/?view=map", "#station-map"), ("/", "#status-map")]:
            page.goto(url)
            page.wait_for_load_state("networkidle")
            expect(page.locator(f"{selector} .leaflet-outlines-pane canvas")).to_have_count(1)
            expect(page.locator(f"{selector} .leaflet-control-attribution")).to_contain_text("State outlines")
            expect(page.locator(f"{selector} img.leaflet-tile")).to_have_count(0)
        assert elsewhere == []
    finally:
        context.close()

"""What a person trying `make demo` (DEBUG on) sees for a wrong address and for a bare site number (issue 23,
item 14), on a desktop and on a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import log_in
from tests.factories import MonitoringLocationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("size", SIZES)
def test_with_debug_on_a_wrong_address_shows_the_products_page_and_a_site_number_finds_its_station(
    browser, live_server, viewer, settings, size
):
    settings.DEBUG = True
    MonitoringLocationFactory(monitoring_location_id="USGS-01646500", site_number="01646500", name="POTOMAC RIVER")
    context = browser.new_context(base_url=live_server.url, viewport=SIZES[size])
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        log_in(page, viewer)
        response = page.goto("/stations/nowhere/at/all/")
        assert response.status == 404
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        expect(page.locator("main")).to_contain_text("There is nothing at this address.")
        expect(page.get_by_text("Using the URLconf")).to_have_count(0)
        expect(page.locator("main").get_by_role("link", name="Search stations")).to_be_visible()

        page.goto("/stations/01646500/")
        assert page.url.endswith("/stations/USGS-01646500/")
        expect(page.locator("h1")).to_contain_text("POTOMAC RIVER")
    finally:
        context.close()

"""A person types NWIS short hand or its words into the station search, at desktop and phone sizes (issue 23,
item 6): "northwest branch anacostia" and "NW BR" find "NW BR ANACOSTIA RIVER NR HYATTSVILLE, MD", and only the
words too short to mean anything are reported as ignored."""

from __future__ import annotations

import pytest

from tests.conftest import log_in
from tests.factories import MonitoringLocationFactory

pytest_plugins = ["tests.browser_sizes"]  # sized_page
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_directions_and_short_hand_find_the_station(sized_page, viewer):
    from playwright.sync_api import expect

    page = sized_page
    anacostia = MonitoringLocationFactory(site_number="01651000", name="NW BR ANACOSTIA RIVER NR HYATTSVILLE, MD")
    MonitoringLocationFactory(site_number="01646500", name="POTOMAC RIVER NEAR WASH, DC LITTLE FALLS PUMP STA")
    MonitoringLocationFactory(site_number="01645000", name="SENECA CREEK AT DAWSONVILLE, MD")
    rows = page.locator("#results-table tbody tr[data-location-id]")
    log_in(page, viewer)
    page.goto("/stations/")
    expect(page.locator("#result-count")).to_contain_text("3 stations match")

    for q in ["northwest branch anacostia", "NW BR", "nw"]:
        page.fill("#id_q", q)
        expect(page.locator("#result-count")).to_contain_text("1 station matches")
        expect(rows).to_have_count(1)
        assert rows.first.get_attribute("data-location-id") == anacostia.monitoring_location_id
        expect(page.locator("#search-ignored")).to_have_count(0)

    page.fill("#id_q", "nw br md")
    expect(page.locator("#search-ignored")).to_contain_text("“md”")
    expect(page.locator("#search-ignored")).not_to_contain_text("“nw”")
    expect(rows).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

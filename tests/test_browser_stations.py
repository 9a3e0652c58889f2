"""A real browser searches stations by state, fills the basket, and sees it on the basket page."""

from __future__ import annotations

import pytest

from tests.factories import MonitoringLocationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_search_by_state_fill_the_basket_and_see_it(viewer_page):
    from playwright.sync_api import expect

    page = viewer_page
    md = [MonitoringLocationFactory(site_number=f"0164{i}000", name=f"MARYLAND CREEK {i}") for i in range(4)]
    MonitoringLocationFactory(site_number="11264500", name="MERCED R", state_code="CA", state_fips="06")
    ids = [loc.monitoring_location_id for loc in md]

    page.goto("/stations/")
    expect(page.locator("#result-count")).to_contain_text("5 stations match")
    page.select_option("#id_state", "MD")
    expect(page.locator("#result-count")).to_contain_text("4 stations match")
    page.wait_for_url("**/stations/?*state=MD*")  # the URL follows the search (bookmarkable, back button)

    def row(location_id: str):
        return page.locator(f'#results-table tr[data-location-id="{location_id}"]')

    for location_id in ids[:3]:
        row(location_id).locator("button.basket-add").click()
        expect(row(location_id).locator("button.basket-add")).to_have_text("Added ✓")
    expect(page.locator("#basket-count")).to_have_text("3")

    with page.expect_response("**/stations/basket/add/"):
        row(ids[0]).locator("button.basket-add").click()
    expect(page.locator("#basket-count")).to_have_text("3")

    row(ids[1]).locator("button.basket-remove").click()
    expect(row(ids[1]).locator("button.basket-add")).to_have_text("Add")
    expect(page.locator("#basket-count")).to_have_text("2")

    page.reload()  # the basket lives in the session, not the page
    expect(page.locator("#basket-count")).to_have_text("2")
    page.locator("nav").get_by_text("Basket").click()
    page.wait_for_url("**/stations/basket/")
    basket_rows = page.locator("#basket-table tbody tr")
    expect(basket_rows).to_have_count(2)
    assert [basket_rows.nth(i).get_attribute("data-location-id") for i in range(2)] == [ids[0], ids[2]]


def test_typing_an_invalid_huc_shows_the_error_in_place_of_the_results(viewer_page):
    from playwright.sync_api import expect

    page = viewer_page
    MonitoringLocationFactory(site_number="01646500", name="POTOMAC RIVER NEAR WASH, DC")
    page.goto("/stations/")
    expect(page.locator("#result-count")).to_contain_text("1 station matches")

    page.fill("#id_huc", "02x7")

    expect(page.locator("#search-errors")).to_contain_text("A HUC prefix is 1 to 12 digits")
    expect(page.locator("#results-table tbody tr[data-location-id]")).to_have_count(0)
    expect(page.locator("#result-count")).to_contain_text("0 stations match")

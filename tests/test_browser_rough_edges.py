"""Issue 23, item 16, as a person sees it on a desktop and on a phone: a HUC error leaves the search form in line,
a typed cron survives a detour through a preset schedule, a bad cron is explained once, and a reversed date
range on the data page is swapped and said so."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from tests.conftest import log_in
from tests.monitoring_factories import daily_series_with_values

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=SIZES)
def size(request):
    return request.param


@pytest.fixture
def sized_page(browser, live_server, operator, size):
    context = browser.new_context(base_url=live_server.url, viewport=SIZES[size])
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, operator)
    yield page
    context.close()


def test_a_huc_error_leaves_the_search_form_in_line(sized_page, size):
    page = sized_page
    page.goto("/stations/?q=potomac&huc=12x")

    expect(page.locator("#search-errors")).to_contain_text("HUC")
    tops = {
        name: page.locator(selector).bounding_box()["y"]
        for name, selector in [("q", "#id_q"), ("state", "#id_state"), ("huc", "#id_huc"), ("series", "#id_series")]
    }
    button = page.get_by_role("button", name="Search", exact=True).bounding_box()
    if size == "desktop":  # one row: every box and the button on one line
        assert max(tops.values()) - min(tops.values()) < 1, tops
        assert abs(button["y"] - tops["q"]) < 1
    else:  # stacked: in order, nothing overlapping
        assert tops["q"] < tops["state"] < tops["huc"] < tops["series"] < button["y"]
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("window.innerWidth")


def idle(page) -> None:
    busy = ".htmx-request, .htmx-settling, .htmx-swapping, .htmx-added"
    page.wait_for_function(f"() => !document.querySelector('{busy}')")


def test_a_typed_cron_survives_switching_to_hourly_and_back_and_a_bad_one_is_explained_once(sized_page):
    page = sized_page
    page.goto("/pulls/new/")
    page.select_option("#id_schedule_type", "custom")
    cron = page.locator("input#id_cron_expression[type=text]")
    expect(cron).to_be_visible()
    idle(page)  # the swapped-in field is wired up (a person cannot type within those milliseconds either)
    cron.fill("*/15 6-18 * * 1-5")
    expect(page.locator("#schedule-words")).to_contain_text("Every 15 minutes")

    page.select_option("#id_schedule_type", "hourly")
    expect(page.locator("#schedule-words")).to_have_text("Every hour")
    page.select_option("#id_schedule_type", "custom")
    expect(cron).to_have_value("*/15 6-18 * * 1-5")
    expect(page.locator("#schedule-words")).to_contain_text("Every 15 minutes")

    page.fill("#id_name", "Never")
    page.fill("#id_start_date", "2024-01-01")
    cron.fill("0 0 30 2 *")
    expect(page.locator("#schedule-error")).to_contain_text("This schedule never runs")
    page.locator("#save-configuration").click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_text("This schedule never runs")).to_have_count(1)


def test_a_reversed_data_range_is_swapped_and_the_page_says_so(sized_page):
    page = sized_page
    series = daily_series_with_values(30, start=dt.date(2020, 1, 1))
    page.goto(f"/monitoring/stations/{series.location.monitoring_location_id}/data/?start=2020-01-20&end=2020-01-05")

    expect(page.locator("#range-swapped")).to_contain_text("swapped: showing 2020-01-05 to 2020-01-20")
    expect(page.locator("#id_start")).to_have_value("2020-01-05")
    expect(page.locator("#id_end")).to_have_value("2020-01-20")
    expect(page.locator("#chart-caption")).to_contain_text("from 2020-01-05 to 2020-01-20")

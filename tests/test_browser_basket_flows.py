"""The basket's buttons do what they say, at desktop and phone sizes (issue 23, item 8): going back to a
configuration being edited adds the stations to it, creating a configuration says the basket was emptied, and
emptying the basket asks first."""

from __future__ import annotations

import pytest
from django.urls import reverse

from pulls.models import PullConfiguration
from tests.conftest import log_in
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory

pytest_plugins = ["tests.browser_sizes"]  # sized_page
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def add_from_search(page, location) -> None:
    page.goto(reverse("stations:search") + f"?q={location.site_number}")
    button = page.locator(f'#results-table tr[data-location-id="{location.monitoring_location_id}"] button.basket-add')
    button.click()
    page.wait_for_function("() => document.querySelector('#basket-count')?.textContent.trim() !== '0'")


def test_back_to_the_configuration_adds_the_basket_s_stations(sized_page, operator):
    from playwright.sync_api import expect

    page = sized_page
    config = PullConfigurationFactory(name="Potomac daily")
    kept, new = MonitoringLocationFactory(), MonitoringLocationFactory(site_number="01646500")
    config.stations.add(kept)
    log_in(page, operator)
    page.goto(reverse("pulls:edit", args=[config.pk]))
    page.get_by_role("button", name="Add more from search").click()
    page.wait_for_url("**/stations/")
    add_from_search(page, new)
    page.goto(reverse("stations:basket"))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # the longer buttons fit

    page.get_by_role("button", name="Add this station to “Potomac daily” and go back to it").click()

    page.wait_for_url(f"**{reverse('pulls:edit', args=[config.pk])}")
    expect(page.locator("#station-count")).to_have_text("2")
    expect(page.locator("#station-list")).to_contain_text(new.monitoring_location_id)
    expect(page.get_by_text("Moved 1 station from the basket into “Potomac daily”")).to_be_visible()
    page.locator("#save-configuration").click()
    page.wait_for_url(f"**{config.get_absolute_url()}")
    assert PullConfiguration.objects.get(pk=config.pk).stations.count() == 2


def test_creating_a_configuration_says_it_emptied_the_basket(sized_page, operator):
    from playwright.sync_api import expect

    page = sized_page
    location = MonitoringLocationFactory(site_number="01646500")
    log_in(page, operator)
    add_from_search(page, location)
    page.goto(reverse("pulls:create"))
    expect(page.locator("#from-basket-note")).to_contain_text("takes them out of the basket")
    page.fill("#id_name", "Potomac new")

    page.locator("#save-configuration").click()

    page.wait_for_url("**/pulls/*/")
    expect(page.get_by_text("The basket is empty now: its stations went into this configuration.")).to_be_visible()
    expect(page.locator("#basket-count")).to_have_text("0")


def test_emptying_the_basket_asks_first(sized_page, viewer):
    from playwright.sync_api import expect

    page = sized_page
    location = MonitoringLocationFactory(site_number="01646500")
    log_in(page, viewer)
    add_from_search(page, location)
    page.goto(reverse("stations:basket"))

    page.locator("#basket-clear").click()
    expect(page.locator("#basket-clear-summary")).to_contain_text("removes the 1 station in your basket")
    page.locator("#basket-clear-cancel").click()
    expect(page.locator("#basket-table tbody tr")).to_have_count(1)  # cancelled: nothing changed

    page.locator("#basket-clear").click()
    page.locator("#basket-clear-confirm").click()
    expect(page.locator("#basket-empty")).to_be_visible()
    expect(page.locator("#basket-count")).to_have_text("0")

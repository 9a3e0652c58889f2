"""A person switches the log axis and a range, then the data-kind tab, at desktop and phone sizes: the other kind
is drawn on the same axis over the same days (issue 23, item 10)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from stations.models import TimeSeries
from tests.conftest import log_in
from tests.monitoring_factories import continuous_series_with_values, daily_series_with_values

pytest_plugins = ["tests.browser_sizes"]  # sized_page
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_kind_tab_keeps_the_axis_and_the_range(sized_page, viewer):
    page = sized_page
    continuous = continuous_series_with_values(2_000)  # 2025-01-01 … 01-07
    daily = daily_series_with_values(60, start=dt.date(2024, 12, 1))
    TimeSeries.objects.filter(pk=daily.pk).update(location=continuous.location)
    log_in(page, viewer)
    page.goto(reverse("monitoring:station_data", args=[continuous.location.monitoring_location_id]) + "?kind=daily")

    page.click("#scale-log")  # an htmx swap of the chart, tabs included
    page.wait_for_function("() => document.querySelector('svg.hydrograph')?.dataset.scale === 'log'")
    page.fill("#id_start", "2025-01-02")
    page.fill("#id_end", "2025-01-05")
    page.locator("#range-form button[type=submit]").click()
    page.wait_for_function("() => location.search.includes('start=2025-01-02')")
    page.click("#tab-continuous")

    page.wait_for_url("**kind=continuous**")
    assert "scale=log" in page.url and "start=2025-01-02" in page.url and "end=2025-01-05" in page.url
    assert page.locator("#tab-continuous").get_attribute("aria-current") == "page"
    assert page.locator("#scale-log").get_attribute("aria-current") == "true"
    assert (page.input_value("#id_start"), page.input_value("#id_end")) == ("2025-01-02", "2025-01-05")
    chart = "svg.hydrograph-phone" if page.size_name == "phone" else "svg.hydrograph"  # drawn for its width
    assert page.locator(chart).is_visible() and page.locator(chart).get_attribute("data-scale") == "log"

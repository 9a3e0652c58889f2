"""A water-temperature hydrograph as a person sees it (issue 24): its axis in °C, winter values below zero drawn and
not flagged as negative, no log axis offered; at desk and phone sizes."""

from __future__ import annotations

import datetime as dt

import pytest

from acquisition.models import DailyValue
from acquisition.smart_append import run_inline
from tests.acquisition_factories import make_configuration
from tests.conftest import log_in

pytest_plugins = ["tests.worker_fixtures"]  # fake_usgs
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SITE = "USGS-05427718"  # the fake's Yahara River, Wisconsin: its water drops below 0 °C in winter


@pytest.mark.parametrize("size", [(1366, 900), (390, 844)], ids=["desktop", "phone"])
def test_a_winter_temperature_chart_shows_degrees_celsius_and_flags_no_negative(
    browser, live_server, viewer, fake_usgs, size
):
    config = make_configuration(fake_usgs, [SITE], start_date=dt.date(2026, 1, 1), parameters=["00010"])
    run = run_inline(config)
    assert run.status == "succeeded", run.message
    below_zero = DailyValue.objects.filter(series__parameter_code="00010", value__lt=0, date__month__lte=2)
    assert below_zero.exists()  # the chart below really holds negative values
    context = browser.new_context(base_url=live_server.url, viewport={"width": size[0], "height": size[1]})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        log_in(page, viewer)
        page.goto(f"/monitoring/stations/{SITE}/data/?kind=daily&parameter=00010&start=2026-01-01&end=2026-03-31")

        svg = page.locator("#hydrograph figure svg").filter(visible=True)
        assert svg.count() == 1
        texts = svg.locator("text").all_text_contents()
        assert "Water temperature (°C)" in texts
        assert any(t.startswith("-") for t in texts)  # the axis reaches below zero …
        assert svg.locator(".mark.negative").count() == 0  # … and nothing there is flagged
        assert "Negative" not in texts  # no legend entry either
        assert page.locator("#scale-toggle").count() == 0  # a log axis is offered for discharge only
        tabs = page.locator("#series-tabs a").all_inner_texts()
        assert tabs == ["Water temperature, daily mean", "Water temperature, daily maximum",
                        "Water temperature, daily minimum"]  # fmt: skip
        assert "(°C)" in page.locator("#chart-caption").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        page.locator("#series-tabs a", has_text="daily minimum").click()
        page.wait_for_url(lambda url: "statistic=00002" in url)
        assert "Water temperature, daily minimum" in page.locator("#series-tabs a.active").inner_text()
    finally:
        context.close()

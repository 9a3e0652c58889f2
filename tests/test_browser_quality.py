"""In a real browser: the station quality page (heat map with one cell per month, a chosen range redrawn by htmx),
the configuration roll-up (worst first, sorting by a column), and the hydrograph's log-axis toggle."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from acquisition.models import DailyValue
from acquisition.smart_append import run_inline
from acquisition.tallies import refresh_tallies
from tests.acquisition_factories import make_configuration
from tests.monitoring_factories import daily_series_with_values

pytest_plugins = ["tests.worker_fixtures"]  # fake_usgs
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SITES = ["USGS-01646500", "USGS-01638500", "USGS-01643000"]
START = dt.date(2024, 10, 1)


def test_the_quality_page_and_the_rollup_render_and_sort(viewer_page, fake_usgs):
    page = viewer_page
    config = make_configuration(fake_usgs, SITES, start_date=START)
    run_inline(config)
    # Three weeks lost in the middle of the record (after the newest value nothing is missing), and the tallies
    # the commit keeps told about it, as a pull's own delete would have.
    lost = DailyValue.objects.filter(
        series__location__monitoring_location_id=SITES[2], date__range=(dt.date(2026, 10, 25), dt.date(2026, 11, 15))
    )
    series_pk = lost.first().series_id
    lost.delete()
    refresh_tallies("daily", series_pk, dt.date(2026, 10, 25), dt.date(2026, 11, 15))

    page.goto(f"/monitoring/stations/{SITES[0]}/quality/")
    months = (2026 - 2024) * 12 + 11 - 10 + 1  # Oct 2024 … Nov 2026
    assert page.locator("#quality-heatmap rect.qcell").count() == months
    assert page.locator("#quality-heatmap rect.qcell[data-month='2025-10']").count() == 1  # WY 2025, October
    assert page.locator("#quality-percent").inner_text().startswith(("9", "100"))

    page.fill("#q-start", "2026-01-01")
    page.fill("#q-end", "2026-03-31")
    page.click("#quality-range button[type=submit]")
    page.wait_for_function("() => document.querySelectorAll('#quality-heatmap rect.qcell').length === 3")
    assert "start=2026-01-01" in page.url

    page.goto(f"/monitoring/configurations/{config.pk}/quality/")
    rows = page.locator("#rollup tbody tr.rollup-row")
    assert rows.count() == 3
    # The station that lost three weeks is the worst.
    assert rows.first.get_attribute("data-station") == SITES[2]

    page.click("a[data-sort=station]")
    page.wait_for_function("() => document.querySelector('#rollup th[aria-sort]')?.textContent.includes('▲')")
    assert [rows.nth(i).get_attribute("data-station") for i in range(3)] == sorted(SITES)
    page.click("a[data-sort=station]")
    page.wait_for_function("() => document.querySelector('#rollup th[aria-sort]')?.textContent.includes('▼')")
    assert [rows.nth(i).get_attribute("data-station") for i in range(3)] == sorted(SITES, reverse=True)

    page.goto(config.get_absolute_url())
    page.wait_for_selector("#quality-worst")
    assert page.locator("#quality-worst tbody tr").first.inner_text().startswith(SITES[2])


def test_the_log_toggle_redraws_the_hydrograph_on_decades(viewer_page):
    page = viewer_page
    series = daily_series_with_values(200)  # 100 … 250 ft³/s
    page.goto(reverse("monitoring:station_data", args=[series.location.monitoring_location_id]))
    assert page.locator("svg.hydrograph").get_attribute("data-scale") == "linear"

    page.click("#scale-log")
    page.wait_for_function("() => document.querySelector('svg.hydrograph')?.dataset.scale === 'log'")
    assert "scale=log" in page.url
    labels = page.locator("svg.hydrograph text.tick").all_text_contents()
    assert labels == ["100", "200", "500", "1,000"]
    assert page.locator("#scale-log").get_attribute("aria-current") == "true"

    page.click("text=Last 30 days")  # a preset keeps the axis
    page.wait_for_function("() => location.search.includes('start=2020-06-18')")
    assert page.locator("svg.hydrograph").get_attribute("data-scale") == "log"

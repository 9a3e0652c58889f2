"""In a real browser: the station quality page (heat map with one cell per month, a chosen range redrawn by htmx)
and the configuration roll-up (worst first, sorting by a column)."""

from __future__ import annotations

import datetime as dt

import pytest

from acquisition.models import DailyValue
from acquisition.smart_append import run_inline
from tests.acquisition_factories import make_configuration

pytest_plugins = ["tests.worker_fixtures"]  # fake_usgs
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SITES = ["USGS-01646500", "USGS-01638500", "USGS-01643000"]
START = dt.date(2024, 10, 1)


def test_the_quality_page_and_the_rollup_render_and_sort(viewer_page, fake_usgs):
    page = viewer_page
    config = make_configuration(fake_usgs, SITES, start_date=START)
    run_inline(config)
    DailyValue.objects.filter(
        series__location__monitoring_location_id=SITES[2], date__gte=dt.date(2026, 11, 1)
    ).delete()

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
    # The roll-up is judged at the real date; the station that lost November is still the worst.
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

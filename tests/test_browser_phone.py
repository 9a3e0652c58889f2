"""On a 390×844 phone no main page scrolls sideways (issue 13, defect 7)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from acquisition.models import PullLogEntry, PullRun
from tests.conftest import log_in
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory, PullRunFactory, PullRunStationFactory
from tests.monitoring_factories import daily_series_with_values

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
OVERFLOW = """() => ({width: document.documentElement.scrollWidth, inner: window.innerWidth,
  wide: [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
        .slice(0, 5).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className)})"""


def test_no_main_page_scrolls_sideways_on_a_phone(browser, live_server, operator):
    series = daily_series_with_values(400, start=dt.date(2024, 1, 1))
    location = series.location
    location.name = "NORTHWEST BRANCH ANACOSTIA RIVER NEAR HYATTSVILLE, MARYLAND, LITTLE FALLS PUMP STATION"
    location.save()
    config = PullConfigurationFactory(name="Anacostia and Potomac daily mean discharge, every six hours")
    config.stations.add(location, MonitoringLocationFactory())
    run = PullRunFactory(configuration=config, status=PullRun.Status.PARTIAL, stations_total=2, stations_failed=1,
                         started_at=timezone.now(), finished_at=timezone.now(),
                         message="1 of 2 stations failed (USGS-01651000); the others were stored.")  # fmt: skip
    failed_url = "https://api.waterdata.usgs.gov/ogcapi/v1/collections/daily/items?x=1"
    PullRunStationFactory(run=run, location=location, status="failed", error=f"HTTP 500 from {failed_url}")
    PullLogEntry.objects.create(run=run, location=location, level=PullLogEntry.Level.ERROR,
                                message="HTTP 500 from https://api.waterdata.usgs.gov/ogcapi/v1/collections/daily/"
                                "items?monitoring_location_id=USGS-01651000&limit=50000&skipGeometry=true")  # fmt: skip
    pages = [
        "/",
        reverse("stations:search"),
        reverse("stations:basket"),
        location.get_absolute_url(),
        reverse("monitoring:station_data", args=[location.monitoring_location_id]),
        reverse("pulls:list"),
        config.get_absolute_url(),
        reverse("pulls:edit", args=[config.pk]),
        reverse("pulls:create"),
        reverse("monitoring:runs"),
        run.get_absolute_url(),
        reverse("monitoring:configuration_statistics", args=[config.pk]),
    ]
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        log_in(page, operator)
        problems = {}
        for url in pages:
            page.goto(url)
            page.wait_for_load_state("networkidle")
            result = page.evaluate(OVERFLOW)
            if result["width"] > result["inner"]:
                problems[url] = result
        assert problems == {}
    finally:
        context.close()

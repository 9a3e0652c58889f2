"""A real browser draws the status maps: the dashboard's and a configuration's, coloured by state, with a legend."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.utils import timezone

from pulls.models import PullConfigurationStation, StationProgress
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = os.environ.get("MAP_SCREENSHOTS")


def _member(config, site: str, lat: float, lon: float, **progress):
    location = MonitoringLocationFactory(site_number=site, name=f"GAGE {site}", latitude=lat, longitude=lon)
    PullConfigurationStation.objects.create(configuration=config, location=location)
    StationProgress.objects.update_or_create(configuration=config, location=location, defaults=progress)
    return location


def test_the_dashboard_and_a_configuration_page_draw_their_stations_by_state(viewer_page):
    from playwright.sync_api import expect

    page = viewer_page
    now = timezone.now()
    long_ago = now.date() - dt.timedelta(days=30)
    active = PullConfigurationFactory(name="Potomac daily")
    paused = PullConfigurationFactory(name="Western daily", enabled=False)
    fresh = _member(active, "01646500", 38.95, -77.13, newest_date=now.date(), last_success_at=now)
    _member(active, "01645000", 39.13, -77.34, newest_date=long_ago, last_success_at=now, consecutive_failures=2)
    _member(active, "01638500", 39.27, -77.54, newest_date=long_ago, last_success_at=now)
    _member(paused, "11264500", 37.73, -119.56, newest_date=long_ago, last_success_at=now)

    page.goto("/")
    status_map = page.locator("#status-map")
    expect(status_map).to_have_attribute("data-state", "ready")
    expect(status_map).to_have_attribute("data-marker-count", "4")
    legend = page.locator('.map-legend[data-for="status-map"]')
    expect(legend.locator('[data-state="failing"]')).to_have_text("Failing 1")
    expect(legend.locator('[data-state="stale"]')).to_have_text("Stale (silent gage) 1")
    expect(legend.locator('[data-state="fresh"]')).to_have_text("Fresh 1")
    expect(legend.locator('[data-state="paused"]')).to_have_text("Paused 1")
    # The cards above agree: one silent gage, one behind because pulls fail.
    expect(page.locator("#silent-count")).to_have_text("1")
    expect(page.locator("#failing-count")).to_have_text("1")
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, "dashboard-status-map.png"), full_page=True)

    page.goto(active.get_absolute_url())
    expect(status_map).to_have_attribute("data-marker-count", "3")
    # A marker's popup links to its station page.
    status_map.scroll_into_view_if_needed()
    point = page.evaluate("document.getElementById('status-map').leafletMap.latLngToContainerPoint([38.95, -77.13])")
    box = status_map.bounding_box()
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    popup = page.locator(".leaflet-popup-content")
    expect(popup).to_contain_text("GAGE 01646500")
    expect(popup).to_contain_text("Fresh")
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, "configuration-status-map.png"), full_page=True)
    popup.get_by_role("link", name="Station page").click()
    page.wait_for_url(f"**{fresh.get_absolute_url()}")

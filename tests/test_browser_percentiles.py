"""A real browser, at desktop (1366×900) and phone (390×844) sizes: the daily hydrograph with its percentile bands
and legend, and the percentile maps (dashboard and configuration) with their legend and the date ranked."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from acquisition import normals
from acquisition.smart_append import run_inline
from stations.models import MonitoringLocation
from tests.acquisition_factories import FAST_QUOTA, make_configuration
from tests.conftest import log_in
from tests.fakeusgs import FakeUSGS
from tests.test_percentiles import HIGH, LOW, SHORT, TODAY, catalog, place

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SIZES = [(390, 844), (1366, 900)]
SHOTS = Path(__file__).resolve().parent.parent / "var"


@pytest.fixture
def ranked_config(settings):
    fake = FakeUSGS(stations=catalog(), today=TODAY)
    settings.USGS_API_URL = fake.start()
    settings.USGS_STATISTICS_URL = fake.statistics_url
    settings.USGS_API_KEY = ""
    settings.USGS_REQUESTS_PER_HOUR = FAST_QUOTA
    try:
        place(fake, LOW, 5)
        place(fake, HIGH, 95)
        config = make_configuration(fake, [LOW, HIGH, SHORT], start_date=dt.date(2026, 9, 1))
        for st in fake.stations:
            MonitoringLocation.objects.filter(monitoring_location_id=st.monitoring_location_id).update(
                latitude=st.latitude, longitude=st.longitude
            )
        assert run_inline(config).status == "succeeded"
        normals.refresh_normals(normals.mirrored_daily_series())
        yield config
    finally:
        fake.stop()


@pytest.mark.parametrize("size", SIZES, ids=["phone", "desktop"])
def test_the_hydrograph_draws_percentile_bands_with_a_legend(browser, live_server, viewer, ranked_config, size):
    from playwright.sync_api import expect

    context = browser.new_context(base_url=live_server.url, viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    try:
        log_in(page, viewer)
        page.goto(f"/monitoring/stations/{LOW}/data/?kind=daily&start=2026-09-01&end=2026-11-20")
        svg = page.locator("#hydrograph figure svg").filter(visible=True)
        expect(svg).to_have_count(1)
        outer = svg.locator("polygon.band-p10_p90")
        inner = svg.locator("polygon.band-p25_p75")
        for band in (outer, inner):
            box = band.bounding_box()
            assert box is not None and box["width"] > 0.5 * svg.bounding_box()["width"] and box["height"] > 5
        expect(svg.locator("polyline.band-median")).to_have_count(1)
        for label in ("p10–p90", "p25–p75", "Median"):
            expect(svg.locator(".legend text", has_text=label)).to_be_visible()
        expect(page.locator("#chart-band-note")).to_contain_text("percentiles of each calendar day")
        # The newest value, at the 5th percentile, is drawn below the 10th-percentile edge of the band.
        below = page.evaluate(
            """svg => {
                const line = [...svg.querySelectorAll('polyline.series, circle.series')].pop();
                const pts = line.tagName === 'circle' ? [[+line.getAttribute('cx'), +line.getAttribute('cy')]]
                    : line.getAttribute('points').trim().split(/\\s+/).map(p => p.split(',').map(Number));
                const last = pts[pts.length - 1];
                const band = svg.querySelector('polygon.band-p10_p90').getAttribute('points').trim().split(/\\s+/)
                    .map(p => p.split(',').map(Number));
                const lower = band.slice(band.length / 2);  // p10 edge, newest day first
                return {value_y: last[1], p10_y: lower[0][1], value_x: last[0], p10_x: lower[0][0]};
            }""",
            svg.element_handle(),
        )
        assert abs(below["value_x"] - below["p10_x"]) < 1.0, below
        assert below["value_y"] > below["p10_y"], below  # larger y: lower on screen
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        SHOTS.mkdir(exist_ok=True)
        page.locator("#hydrograph figure").screenshot(path=str(SHOTS / f"hydrograph-bands-{size[0]}.png"))
    finally:
        context.close()


@pytest.mark.parametrize("size", SIZES, ids=["phone", "desktop"])
def test_the_percentile_maps_colour_stations_with_a_legend(browser, live_server, viewer, ranked_config, size):
    from playwright.sync_api import expect

    context = browser.new_context(base_url=live_server.url, viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    try:
        log_in(page, viewer)
        for url in ("/", ranked_config.get_absolute_url()):
            page.goto(url)
            pmap = page.locator("#percentile-map")
            expect(pmap).to_have_attribute("data-state", "ready")
            expect(pmap).to_have_attribute("data-marker-count", "3")
            legend = page.locator('.map-legend[data-for="percentile-map"]')
            expect(legend.locator('[data-state="much_below"]')).to_have_text("Much below normal (<10) 1")
            expect(legend.locator('[data-state="much_above"]')).to_have_text("Much above normal (>90) 1")
            expect(legend.locator('[data-state="not_ranked"]')).to_have_text("Not ranked 1")
            expect(legend.locator(".map-note")).to_contain_text("2026-11-20")
            swatch = legend.locator('[data-state="much_below"] .swatch')
            assert swatch.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(177, 33, 33)"
            # The marker of the 5th-percentile station: its popup names the class and the value's percentile.
            pmap.scroll_into_view_if_needed()
            point = page.evaluate(
                "document.getElementById('percentile-map').leafletMap.latLngToContainerPoint([39.1, -77.1])"
            )
            box = pmap.bounding_box()
            page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
            popup = page.locator("#percentile-map .leaflet-popup-content")
            expect(popup).to_contain_text("Much below normal")
            expect(popup).to_contain_text("percentile")
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        SHOTS.mkdir(exist_ok=True)
        page.locator("#percentile-map-card").screenshot(path=str(SHOTS / f"percentile-map-{size[0]}.png"))
    finally:
        context.close()

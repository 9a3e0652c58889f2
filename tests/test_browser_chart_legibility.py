"""The hydrograph and the quality heat map are legible on a phone (390×844) and on a desk (1366×900): their type
is drawn at 11 px or more on screen and the plot keeps a readable height (issue 23 item 4)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from acquisition.smart_append import run_inline
from tests.acquisition_factories import make_configuration
from tests.conftest import log_in

pytest_plugins = ["tests.worker_fixtures"]  # fake_usgs
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SITE = "USGS-01646500"
SHOTS = Path(__file__).resolve().parent.parent / "var"
# The smallest type in the visible SVG, in screen pixels: its font-size times the drawing's scale on screen.
SMALLEST_TYPE = """sel => {
  const svg = [...document.querySelectorAll(sel)].find(s => s.getBoundingClientRect().width > 0);
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  const sizes = [...svg.querySelectorAll('text')].map(t => parseFloat(getComputedStyle(t).fontSize));
  return {smallest: Math.min(...sizes) * scale, height: svg.getBoundingClientRect().height,
          width: svg.getBoundingClientRect().width}; }"""


@pytest.mark.parametrize("size", [(390, 844), (1366, 900)], ids=["phone", "desktop"])
def test_the_hydrograph_and_heat_map_have_legible_type(browser, live_server, viewer, fake_usgs, size):
    config = make_configuration(fake_usgs, [SITE], start_date=dt.date(2024, 10, 1))
    run_inline(config)
    context = browser.new_context(base_url=live_server.url, viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    name = "phone" if size[0] < 600 else "desktop"
    try:
        log_in(page, viewer)
        page.goto(f"/monitoring/stations/{SITE}/data/")
        chart = page.evaluate(SMALLEST_TYPE, "#hydrograph figure svg")
        assert chart["smallest"] >= 11, chart
        assert chart["height"] >= 240, chart
        assert chart["width"] <= size[0]
        SHOTS.mkdir(exist_ok=True)
        page.locator("#hydrograph figure").screenshot(path=str(SHOTS / f"hydrograph-{name}.png"))

        page.goto(f"/monitoring/stations/{SITE}/quality/")
        heat = page.evaluate(SMALLEST_TYPE, "#quality-heatmap")
        assert heat["smallest"] >= 11, heat
        assert heat["width"] <= size[0]
        page.locator("#quality-heatmap").screenshot(path=str(SHOTS / f"heatmap-{name}.png"))
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        context.close()

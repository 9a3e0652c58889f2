"""A person reads a run of many stations a page at a time, failed first, at desktop and phone sizes."""

from __future__ import annotations

import pytest

from acquisition.models import PullRun
from tests.conftest import log_in
from tests.factories import MonitoringLocationFactory, PullRunFactory, PullRunStationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("size", [(1366, 900), (390, 844)], ids=["desktop", "phone"])
def test_the_failed_stations_come_first_and_the_rest_page_by_page(browser, live_server, viewer, size):
    run = PullRunFactory(status=PullRun.Status.PARTIAL, stations_total=120, stations_failed=2, stations_succeeded=118)
    for i in range(120):
        failed = i in (60, 119)
        PullRunStationFactory(run=run, location=MonitoringLocationFactory(), status="failed" if failed else "succeeded",
                              error="HTTP 500 from USGS; run it again later" if failed else "")  # fmt: skip
    failed_ids = list(
        run.stations.filter(status="failed").order_by("pk").values_list("location__monitoring_location_id", flat=True)
    )
    context = browser.new_context(base_url=live_server.url, viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    try:
        log_in(page, viewer)
        page.goto(run.get_absolute_url())
        rows = page.locator("#run-stations tbody tr")
        assert rows.count() == 50
        assert [rows.nth(i).get_attribute("id") for i in range(2)] == [f"station-{s}" for s in failed_ids]
        assert page.locator("#station-pages").inner_text().startswith("Stations 1–50 of 120")

        page.get_by_role("link", name="Next").click()
        page.wait_for_url("**sp=2**")
        assert page.locator("#station-pages").inner_text().startswith("Stations 51–100 of 120")
        assert page.locator("#run-log").is_visible()  # only the table was swapped

        page.locator("#station-filter").get_by_role("link", name="Failed 2").click()
        page.wait_for_url("**stations=failed**")
        assert page.locator("#run-stations tbody tr").count() == 2
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        context.close()

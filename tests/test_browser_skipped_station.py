"""A person reads what happens to a station without the configuration's data type, at desktop and phone sizes
(issue 23, item 9): the form says runs skip it, and a run shows it Skipped with no bar rather than a full one."""

from __future__ import annotations

import pytest
from django.urls import reverse

from acquisition.models import PullRun
from stations.models import TimeSeries
from tests.conftest import log_in
from tests.factories import (
    MonitoringLocationFactory,
    PullConfigurationFactory,
    PullRunFactory,
    PullRunStationFactory,
    TimeSeriesFactory,
)

pytest_plugins = ["tests.browser_sizes"]  # sized_page
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_form_and_the_run_agree_on_skipped(sized_page, operator):
    from playwright.sync_api import expect

    page = sized_page
    well = MonitoringLocationFactory(has_daily=False, has_continuous=True)
    TimeSeriesFactory(location=well, kind=TimeSeries.Kind.CONTINUOUS)
    gage = MonitoringLocationFactory(has_daily=True)
    config = PullConfigurationFactory(data_type="daily_mean")
    config.stations.add(well, gage)
    run = PullRunFactory(configuration=config, status=PullRun.Status.SUCCEEDED, stations_total=2)
    PullRunStationFactory(run=run, location=well, status="skipped", windows_total=0, windows_done=0,
                          error="No such series: USGS lists no daily discharge series for it.")  # fmt: skip
    PullRunStationFactory(run=run, location=gage, status="succeeded", windows_total=1, windows_done=1)
    log_in(page, operator)

    page.goto(reverse("pulls:edit", args=[config.pk]))
    warning = page.locator("#without-series")
    expect(warning).to_contain_text("every run would skip it")
    expect(warning).to_contain_text("Skipped")
    expect(warning).not_to_contain_text("failed")

    page.goto(run.get_absolute_url())
    skipped = page.locator(f"#station-{well.monitoring_location_id}")
    expect(skipped).to_contain_text("Skipped")
    expect(skipped.locator(".station-not-pulled")).to_be_visible()
    expect(skipped.locator(".progress")).to_have_count(0)
    expect(skipped).not_to_contain_text("0 / 0")
    expect(page.locator(f"#station-{gage.monitoring_location_id} .station-progress")).to_have_count(1)
